import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trace } from '@opentelemetry/api';
import { createTestTracing } from '../../test/helpers/tracing.js';
import { startBatchDelivery } from './batch.js';
import { createInstrumentation } from './instrumentation.js';
import { createOpenMetricsRegistry } from './metrics.js';
import { startPublish } from './publish.js';

function setup() {
  const tracing = createTestTracing();
  const registry = createOpenMetricsRegistry();
  const instr = createInstrumentation('test', 'kafka', { tracerProvider: tracing.provider, registry });
  return { tracing, registry, instr };
}

async function sample(registry: ReturnType<typeof createOpenMetricsRegistry>, metricName: string) {
  const values =
    (await registry.getSingleMetric(metricName.replace(/_(count|sum)$/, ''))?.get())?.values ?? [];
  return values
    .filter(
      (v) => !/_(count|sum)$/.test(metricName) || (v as { metricName?: string }).metricName === metricName,
    )
    .reduce((sum, v) => sum + v.value, 0);
}

describe('startBatchDelivery', () => {
  it('links the batch span to each producer; a message delivery is a child of its producer, linked to the batch', async () => {
    const { tracing, registry, instr } = setup();
    const publishes = [0, 1, 2].map(() =>
      startPublish(instr, { destination: 't', operationName: 'send', headers: {}, message: null }),
    );
    for (const p of publishes) p.end();
    const batch = startBatchDelivery(instr, {
      destination: 't',
      consumerGroup: 'g',
      messages: [...publishes.map((p) => ({ headers: p.headers })), { headers: {} }],
    });
    let activeInBatch: string | undefined;
    await batch.run(async () => {
      activeInBatch = trace.getActiveSpan()?.spanContext().spanId;
      const first = batch.startMessage(0, { message: null });
      await first.run(async () => new Promise((r) => setTimeout(r, 30)));
      first.settle('ack');
      const orphan = batch.startMessage(3, { message: null });
      orphan.run(() => undefined);
      orphan.settle('ack');
    });
    batch.settle('ack');

    const spans = tracing.spans().filter((s) => s.name === 'process t');
    const batchSpan = spans.find((s) => s.attributes['messaging.batch.message_count'] === 4);
    assert.ok(batchSpan);
    assert.equal(activeInBatch, batchSpan.spanContext().spanId);
    assert.deepEqual(
      batchSpan.links.map((l) => l.context.spanId),
      publishes.map((p) => p.span.spanContext().spanId),
    );
    const own = spans.find((s) => s.parentSpanContext?.spanId === publishes[0]?.span.spanContext().spanId);
    assert.ok(own, 'message 0 is a child of its producer');
    assert.ok(own.links.some((l) => l.context.spanId === batchSpan.spanContext().spanId));
    const orphan = spans.find((s) => s.parentSpanContext?.spanId === batchSpan.spanContext().spanId);
    assert.ok(orphan, 'a message without context hangs under the batch span');

    // 2 messages had their own delivery (with durations), 2 were counted at batch end without one.
    assert.equal(await sample(registry, 'messaging_client_consumed_messages_total'), 4);
    assert.equal(await sample(registry, 'messaging_process_duration_seconds_count'), 2);
    const sum = await sample(registry, 'messaging_process_duration_seconds_sum');
    assert.ok(sum >= 0.029 && sum < 0.1, `only the messages' own time: ${sum}`);
    assert.equal(await sample(registry, 'hoptrace_in_flight_messages'), 0);
  });
});

describe('startPublish with Buffer header values', () => {
  it('keeps a correlation ID and message ID given as Buffers (a consumer forwarding Kafka headers)', () => {
    const { instr } = setup();
    const publish = startPublish(instr, {
      destination: 't',
      operationName: 'send',
      headers: { 'x-correlation-id': Buffer.from('flow-7'), 'x-hoptrace-message-id': Buffer.from('m-1') },
      messageIdHeader: true,
      message: null,
    });
    publish.end();
    assert.equal(publish.correlationId, 'flow-7');
    assert.equal(publish.messageId, 'm-1');
  });
});
