import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { EachMessagePayload } from 'kafkajs';
import { currentCorrelationId, withCorrelationId } from '../../../instrumentation/core/correlation.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { instrumentKafka } from '../../../instrumentation/kafka/index.js';
import { createTestTracing } from '../../helpers/tracing.js';
import {
  createTopic,
  disconnectAll,
  fastConsumerConfig,
  metricSum,
  rawKafka,
  requireKafka,
  startConsumer,
  uniqueName,
  waitFor,
} from './kafka-helpers.js';

const cleanup: { disconnect(): Promise<void> }[] = [];
after(() => disconnectAll(...cleanup));

function header(payload: EachMessagePayload, name: string): string | undefined {
  const value = payload.message.headers?.[name];
  return value === undefined ? undefined : String(value);
}

describe('instrumentKafka on a real broker', () => {
  it('two consumer groups on one topic: two process spans under one producer span, one correlation ID each', async (t) => {
    if (!(await requireKafka(t))) return;
    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const kafka = instrumentKafka(rawKafka(), {
      tracerProvider: tracing.provider,
      registry,
      serviceName: 'orders',
    });
    const topic = uniqueName('orders');
    const groups = [uniqueName('billing'), uniqueName('shipping')];
    await createTopic(topic, 2);

    const seen = new Map<string, { group: string; correlationId: string | undefined; traceId: string }[]>();
    for (const group of groups) {
      const consumer = kafka.consumer(fastConsumerConfig(group));
      cleanup.push(consumer);
      await startConsumer(consumer, [topic], {
        eachMessage: async (payload) => {
          const id = header(payload, 'x-hoptrace-message-id') ?? '?';
          const list = seen.get(id) ?? [];
          list.push({
            group,
            correlationId: currentCorrelationId(),
            traceId: trace.getActiveSpan()?.spanContext().traceId ?? '',
          });
          seen.set(id, list);
        },
      });
    }

    const producer = kafka.producer();
    cleanup.push(producer);
    await producer.connect();
    const count = 6;
    for (let i = 0; i < count; i++) {
      await withCorrelationId(`order-${i}`, () =>
        producer.send({ topic, messages: [{ key: `k${i}`, value: `v${i}` }] }),
      );
    }

    await waitFor(
      () => [...seen.values()].filter((deliveries) => deliveries.length === 2).length === count,
      'both groups to process every message',
    );
    const finished = () => tracing.spans().filter((s) => s.name === `process ${topic}`);
    await waitFor(() => finished().length === count * 2, 'process spans to end');

    const producerSpans = tracing.spans().filter((s) => s.name === `send ${topic}`);
    assert.equal(producerSpans.length, count);
    for (const producerSpan of producerSpans) {
      assert.equal(producerSpan.kind, SpanKind.PRODUCER);
      const messageId = producerSpan.attributes['messaging.message.id'] as string;
      const correlationId = producerSpan.attributes['messaging.message.conversation_id'];
      assert.match(String(correlationId), /^order-\d$/);
      const children = finished().filter(
        (s) => s.parentSpanContext?.spanId === producerSpan.spanContext().spanId,
      );
      assert.equal(children.length, 2, 'one process span per group');
      assert.deepEqual(
        children.map((s) => s.attributes['messaging.consumer.group.name']).sort(),
        [...groups].sort(),
      );
      for (const child of children) {
        assert.equal(child.kind, SpanKind.CONSUMER);
        assert.equal(child.spanContext().traceId, producerSpan.spanContext().traceId);
        assert.equal(child.attributes['messaging.message.conversation_id'], correlationId);
        assert.equal(child.attributes['messaging.message.id'], messageId);
        assert.equal(
          child.attributes['messaging.kafka.message.key'],
          producerSpan.attributes['messaging.kafka.message.key'],
        );
        assert.equal(typeof child.attributes['messaging.kafka.offset'], 'number');
        assert.match(String(child.attributes['messaging.destination.partition.id']), /^[01]$/);
        assert.equal(child.attributes['hoptrace.outcome'], 'ack');
        assert.equal(child.attributes['hoptrace.service.name'], 'orders');
      }
      const handlerViews = seen.get(messageId) ?? [];
      assert.equal(handlerViews.length, 2);
      for (const view of handlerViews) {
        assert.equal(view.correlationId, correlationId, 'handler sees the correlation ID');
        assert.equal(view.traceId, producerSpan.spanContext().traceId, 'handler runs in the trace');
      }
    }

    assert.equal(
      await metricSum(registry, 'messaging_client_sent_messages_total', {
        messaging_destination_name: topic,
      }),
      count,
    );
    for (const group of groups) {
      assert.equal(
        await metricSum(registry, 'messaging_client_consumed_messages_total', {
          messaging_destination_name: topic,
          messaging_consumer_group_name: group,
          hoptrace_outcome: 'ack',
        }),
        count,
        `consumed count of ${group}`,
      );
      assert.equal(
        await metricSum(registry, 'hoptrace_in_flight_messages', { messaging_consumer_group_name: group }),
        0,
      );
    }
  });

  it('passes Buffer, string and repeated header values through untouched and keeps a caller traceparent', async (t) => {
    if (!(await requireKafka(t))) return;
    const tracing = createTestTracing();
    const kafka = instrumentKafka(rawKafka(), {
      tracerProvider: tracing.provider,
      registry: createOpenMetricsRegistry(),
    });
    const topic = uniqueName('headers');
    await createTopic(topic);
    const received: EachMessagePayload[] = [];
    const consumer = kafka.consumer(fastConsumerConfig(uniqueName('g')));
    cleanup.push(consumer);
    await startConsumer(consumer, [topic], {
      eachMessage: async (payload) => {
        received.push(payload);
      },
    });
    const producer = kafka.producer();
    cleanup.push(producer);
    await producer.connect();

    const binary = Buffer.from([0, 1, 2, 255]);
    const headers = { bin: binary, text: 'plain', repeated: ['a', Buffer.from('b')] };
    const message = { value: 'x', headers };
    const frozenCopy = JSON.stringify(message);
    await producer.send({ topic, messages: [message] });
    assert.equal(JSON.stringify(message), frozenCopy, 'the caller message is not mutated');
    assert.equal(Object.keys(headers).length, 3, 'the caller headers are not mutated');

    const foreign = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await producer.send({ topic, messages: [{ value: 'y', headers: { traceparent: foreign } }] });

    await waitFor(() => received.length === 2, 'both messages');
    const first = received[0]?.message.headers ?? {};
    assert.deepEqual(first.bin, binary);
    assert.equal(String(first.text), 'plain');
    assert.deepEqual(
      (first.repeated as Buffer[]).map((b) => b.toString()),
      ['a', 'b'],
    );
    assert.equal(String(received[1]?.message.headers?.traceparent), foreign);
    await waitFor(() => tracing.spans().filter((s) => s.name === `process ${topic}`).length === 2, 'spans');
    const second = tracing
      .spans()
      .find(
        (s: ReadableSpan) =>
          s.name === `process ${topic}` && s.spanContext().traceId === foreign.slice(3, 35),
      );
    assert.ok(second, 'the consumer continues the caller-set trace');
  });

  it('sendBatch and transactions: one send span per message, batch size recorded', async (t) => {
    if (!(await requireKafka(t))) return;
    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const kafka = instrumentKafka(rawKafka(), { tracerProvider: tracing.provider, registry });
    const [a, b] = [uniqueName('batch-a'), uniqueName('batch-b')];
    await createTopic(a);
    await createTopic(b);
    const producer = kafka.producer();
    const transactional = kafka.producer({
      transactionalId: uniqueName('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    cleanup.push(producer, transactional);
    await producer.connect();
    await transactional.connect();

    await producer.sendBatch({
      topicMessages: [
        { topic: a, messages: [{ value: '1' }, { value: '2' }] },
        { topic: b, messages: [{ value: '3' }] },
      ],
    });
    const transaction = await transactional.transaction();
    await transaction.send({ topic: a, messages: [{ value: 't1' }, { value: 't2' }, { value: 't3' }] });
    await transaction.sendBatch({ topicMessages: [{ topic: b, messages: [{ value: 't4' }] }] });
    await transaction.commit();

    const sendA = tracing.spans().filter((s) => s.name === `send ${a}`);
    const sendB = tracing.spans().filter((s) => s.name === `send ${b}`);
    assert.equal(sendA.length, 5, '2 from sendBatch + 3 in the transaction');
    assert.equal(sendB.length, 2, '1 from sendBatch + 1 in the transaction');
    assert.deepEqual(sendA.map((s) => s.attributes['messaging.batch.message_count']).sort(), [2, 2, 3, 3, 3]);
    for (const span of sendB) assert.equal(span.attributes['messaging.batch.message_count'], undefined);
    const transactionSingle = sendB[1];
    assert.equal(typeof transactionSingle?.attributes['messaging.kafka.offset'], 'number');
    assert.equal(
      await metricSum(registry, 'messaging_client_sent_messages_total', {
        messaging_destination_name: a,
        error_type: '',
      }),
      5,
    );
  });
});
