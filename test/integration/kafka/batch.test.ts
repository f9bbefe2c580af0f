import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { trace } from '@opentelemetry/api';
import { currentCorrelationId, withCorrelationId } from '../../../instrumentation/core/correlation.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { instrumentKafka, withMessageContext } from '../../../instrumentation/kafka/index.js';
import { createTestTracing } from '../../helpers/tracing.js';
import {
  createTopic,
  disconnectAll,
  fastConsumerConfig,
  histogramValue,
  metricSum,
  rawKafka,
  requireKafka,
  sleep,
  startConsumer,
  uniqueName,
  waitFor,
} from './kafka-helpers.js';

const cleanup: { disconnect(): Promise<void> }[] = [];
after(() => disconnectAll(...cleanup));

describe('eachBatch on a real broker', () => {
  it('links the batch span to every producer and runs each message in its own context with its own timing', async (t) => {
    if (!(await requireKafka(t))) return;
    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const kafka = instrumentKafka(rawKafka(), { tracerProvider: tracing.provider, registry });
    const topic = uniqueName('batch');
    const group = uniqueName('batcher');
    await createTopic(topic);

    // Produce before the consumer starts, so the messages arrive together in few batches.
    const producer = kafka.producer();
    cleanup.push(producer);
    await producer.connect();
    const count = 5;
    for (let i = 0; i < count; i++) {
      await withCorrelationId(`batch-flow-${i}`, () =>
        producer.send({ topic, messages: [{ key: String(i), value: `v${i}` }] }),
      );
    }

    const inHelper: { key: string; traceId: string; correlationId: string | undefined }[] = [];
    const batchSizes: number[] = [];
    const consumer = kafka.consumer(fastConsumerConfig(group));
    cleanup.push(consumer);
    await startConsumer(consumer, [topic], {
      eachBatch: async ({ batch, resolveOffset }) => {
        batchSizes.push(batch.messages.length);
        for (const message of batch.messages) {
          await withMessageContext(message, async () => {
            // Message i takes (i + 1) * 40 ms: its own duration, not the batch's.
            await sleep((Number(String(message.key)) + 1) * 40);
            inHelper.push({
              key: String(message.key),
              traceId: trace.getActiveSpan()?.spanContext().traceId ?? '',
              correlationId: currentCorrelationId(),
            });
          });
          resolveOffset(message.offset);
        }
      },
    });

    await waitFor(() => inHelper.length === count, 'every message through the helper');
    await waitFor(
      () => tracing.spans().filter((s) => s.name === `process ${topic}`).length === count + batchSizes.length,
      'message and batch spans to end',
    );

    const producers = tracing.spans().filter((s) => s.name === `send ${topic}`);
    const processSpans = tracing.spans().filter((s) => s.name === `process ${topic}`);
    const batchSpans = processSpans.filter(
      (s) => s.attributes['messaging.batch.message_count'] !== undefined,
    );
    const messageSpans = processSpans.filter(
      (s) => s.attributes['messaging.batch.message_count'] === undefined,
    );
    assert.equal(producers.length, count);
    assert.equal(batchSpans.length, batchSizes.length);
    assert.equal(messageSpans.length, count);

    // Links: every producer span is linked from the batch span that carried its message.
    const linked = batchSpans.flatMap((b) => b.links.map((l) => l.context.spanId)).sort();
    assert.deepEqual(linked, producers.map((p) => p.spanContext().spanId).sort());
    for (const b of batchSpans) {
      assert.equal(b.attributes['messaging.batch.message_count'], b.links.length);
      assert.equal(b.attributes['messaging.consumer.group.name'], group);
      assert.equal(b.attributes['hoptrace.outcome'], 'ack');
    }

    for (const p of producers) {
      const key = String(p.attributes['messaging.kafka.message.key']);
      const view = inHelper.find((v) => v.key === key);
      assert.equal(view?.traceId, p.spanContext().traceId, `message ${key} runs in its producer's trace`);
      assert.equal(view?.correlationId, `batch-flow-${key}`);
      const own = messageSpans.find((s) => s.parentSpanContext?.spanId === p.spanContext().spanId);
      assert.ok(own, `message ${key} has its own process span under its producer`);
      assert.equal(own.attributes['hoptrace.outcome'], 'ack');
      const ms = own.duration[0] * 1000 + own.duration[1] / 1e6;
      const expected = (Number(key) + 1) * 40;
      assert.ok(
        ms >= expected - 1 && ms < expected + 35,
        `message ${key} took ${ms} ms, expected ~${expected}`,
      );
      const batchLink = own.links.find((l) =>
        batchSpans.some((b) => b.spanContext().spanId === l.context.spanId),
      );
      assert.ok(batchLink, 'the message span links to its batch span');
    }

    const labels = { messaging_destination_name: topic, messaging_consumer_group_name: group };
    assert.equal(
      await histogramValue(registry, 'messaging_process_duration_seconds', 'count', labels),
      count,
    );
    const sum = await histogramValue(registry, 'messaging_process_duration_seconds', 'sum', labels);
    const expectedSum = (40 * (count * (count + 1))) / 2 / 1000; // 0.6 s
    assert.ok(
      sum >= expectedSum - 0.005 && sum < expectedSum + 0.15,
      `process duration sum ${sum}, expected ~${expectedSum}`,
    );
    assert.equal(
      await metricSum(registry, 'messaging_client_consumed_messages_total', {
        ...labels,
        hoptrace_outcome: 'ack',
      }),
      count,
    );
  });

  it('counts messages a batch handler did not run through the helper, without inventing durations', async (t) => {
    if (!(await requireKafka(t))) return;
    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const kafka = instrumentKafka(rawKafka(), { tracerProvider: tracing.provider, registry });
    const topic = uniqueName('batch-plain');
    const group = uniqueName('g');
    await createTopic(topic);
    const producer = kafka.producer();
    cleanup.push(producer);
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    let processed = 0;
    const consumer = kafka.consumer(fastConsumerConfig(group));
    cleanup.push(consumer);
    await startConsumer(consumer, [topic], {
      eachBatch: async ({ batch }) => {
        processed += batch.messages.length;
      },
    });
    await waitFor(() => processed === 3, 'the batch');
    const labels = { messaging_destination_name: topic, messaging_consumer_group_name: group };
    await waitFor(
      async () => (await metricSum(registry, 'messaging_client_consumed_messages_total', labels)) === 3,
      'three consumed messages',
    );
    assert.equal(await histogramValue(registry, 'messaging_process_duration_seconds', 'count', labels), 0);
    assert.equal(await histogramValue(registry, 'hoptrace_message_age_seconds', 'count', labels), 3);
    assert.equal(await metricSum(registry, 'hoptrace_in_flight_messages', labels), 0);
  });
});
