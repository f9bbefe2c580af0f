/**
 * Mixed versions in one flow on a real Kafka broker: 0.1 producers wrote the full header set, 0.2 writes
 * the lean set, where the record timestamp (CreateTime) replaces `x-hoptrace-published-at`. Each reader
 * must get the same trace, correlation ID and ages from either. 0.1's rules: test/fixtures/previous-headers.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { context, propagation } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { currentCorrelationId, withCorrelationId } from '../../../instrumentation/core/correlation.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { instrumentKafka } from '../../../instrumentation/kafka/index.js';
import { previousHeaders, previousRead } from '../../fixtures/previous-headers.js';
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
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function setup() {
  const tracing = createTestTracing();
  const registry = createOpenMetricsRegistry();
  const kafka = instrumentKafka(rawKafka(), { tracerProvider: tracing.provider, registry });
  return { tracing, registry, kafka };
}

const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

describe('mixed header versions on Kafka', () => {
  it('this consumer reads a 0.1 message (full set): same trace, correlation ID and ages', async (t) => {
    if (!(await requireKafka(t))) return;
    const { tracing, registry, kafka } = setup();
    const topic = uniqueName('mixed-old');
    await createTopic(topic);
    const producer = {
      traceId: hex(16),
      spanId: hex(8),
      correlationId: `old-${hex(4)}`,
      publishedAt: Date.now() - 2000,
      originAt: Date.now() - 7000,
    };
    const seen: { correlationId?: string; baggage?: string }[] = [];
    const consumer = kafka.consumer(fastConsumerConfig(uniqueName('g')));
    cleanup.push(consumer);
    await startConsumer(consumer, [topic], {
      eachMessage: async () => {
        seen.push({
          correlationId: currentCorrelationId(),
          baggage: propagation.getBaggage(context.active())?.getEntry('correlation.id')?.value,
        });
      },
    });
    const raw = rawKafka().producer();
    cleanup.push(raw);
    await raw.connect();
    // 0.1 left the record timestamp to kafkajs (the send time): the header is what counts.
    await raw.send({ topic, messages: [{ value: 'from 0.1', headers: previousHeaders(producer, true) }] });
    await waitFor(() => named(tracing.spans(), `process ${topic}`).length === 1, 'the process span');
    const [span] = named(tracing.spans(), `process ${topic}`);
    assert.equal(span?.spanContext().traceId, producer.traceId);
    assert.equal(span?.parentSpanContext?.spanId, producer.spanId);
    assert.equal(span?.attributes['messaging.message.conversation_id'], producer.correlationId);
    assert.equal(span?.attributes['hoptrace.published_at'], producer.publishedAt);
    assert.equal(span?.attributes['hoptrace.origin_at'], producer.originAt);
    assert.deepEqual(seen, [{ correlationId: producer.correlationId, baggage: producer.correlationId }]);
    assert.equal(await metricSum(registry, 'hoptrace_invalid_context_total'), 0);
  });

  it('a 0.1 reader and this reader get the same trace, correlation ID and ages from lean records (two hops)', async (t) => {
    if (!(await requireKafka(t))) return;
    const { tracing, kafka } = setup();
    const first = uniqueName('mixed-new');
    const second = uniqueName('mixed-new-next');
    await createTopic(first);
    await createTopic(second);
    const producer = kafka.producer();
    cleanup.push(producer);
    await producer.connect();
    const records: { topic: string; headers: Record<string, unknown>; timestamp: number }[] = [];
    const consumer = kafka.consumer(fastConsumerConfig(uniqueName('g')));
    cleanup.push(consumer);
    await startConsumer(consumer, [first, second], {
      eachMessage: async ({ topic, message }) => {
        records.push({ topic, headers: { ...message.headers }, timestamp: Number(message.timestamp) });
        if (topic === first) await producer.send({ topic: second, messages: [{ value: 'hop 2' }] });
      },
    });
    const correlationId = `new-${hex(4)}`;
    await withCorrelationId(correlationId, () =>
      producer.send({ topic: first, messages: [{ value: '0.2' }] }),
    );
    await waitFor(() => named(tracing.spans(), `process ${second}`).length === 1, 'both hops');
    const spans = tracing.spans();
    const root = named(spans, `send ${first}`)[0];
    const hops = [named(spans, `process ${first}`)[0], named(spans, `process ${second}`)[0]];
    assert.ok(root && hops[0] && hops[1]);

    // On the wire: the lean set; the record timestamp is the publish time.
    assert.deepEqual(Object.keys(records[0]?.headers ?? {}).sort(), [
      'traceparent',
      'x-correlation-id',
      'x-hoptrace-message-id',
    ]);
    assert.deepEqual(Object.keys(records[1]?.headers ?? {}).sort(), [
      'traceparent',
      'x-correlation-id',
      'x-hoptrace-message-id',
      'x-hoptrace-origin-at',
    ]);
    for (const [i, span] of hops.entries()) {
      const record = records[i];
      assert.ok(span && record);
      const old = previousRead(record.headers, record.timestamp);
      assert.equal(old.traceId, root.spanContext().traceId);
      assert.equal(span.spanContext().traceId, old.traceId);
      assert.equal(span.parentSpanContext?.spanId, old.parentSpanId);
      assert.equal(old.correlationId, correlationId);
      assert.equal(span.attributes['messaging.message.conversation_id'], correlationId);
      assert.equal(span.attributes['hoptrace.published_at'], old.publishedAt);
      assert.equal(span.attributes['hoptrace.origin_at'], old.originAt);
    }
    // CreateTime is hoptrace's publish time: the flow's origin on the second hop is the first record's timestamp.
    assert.equal(hops[1]?.attributes['hoptrace.origin_at'], records[0]?.timestamp);
  });
});
