import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestTracing } from '../../test/helpers/tracing.js';
import { startDelivery } from './delivery.js';
import { createInstrumentation } from './instrumentation.js';
import { createOpenMetricsRegistry, getMessagingMetrics } from './metrics.js';

describe('a delivery without a handler (awaitSettle)', () => {
  it('ends its span at settle and measures processing up to the settle', async () => {
    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const instr = createInstrumentation('test', 'rabbitmq', { tracerProvider: tracing.provider, registry });
    const delivery = startDelivery(instr, { destination: 'q', operationName: 'receive', message: null });
    delivery.awaitSettle();
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(tracing.spans().length, 0, 'open until settled');
    delivery.settle('ack');
    assert.equal(tracing.spans().length, 1);
    const metric = await registry.getSingleMetric('messaging_process_duration_seconds')?.get();
    const sum = metric?.values.find(
      (v) => (v as { metricName?: string }).metricName === 'messaging_process_duration_seconds_sum',
    );
    assert.ok(sum && sum.value >= 0.025, `process duration ${sum?.value} covers the wait`);
  });

  it('ends its span unsettled after the settle timeout', async () => {
    const tracing = createTestTracing();
    const instr = createInstrumentation('test', 'rabbitmq', {
      tracerProvider: tracing.provider,
      registry: createOpenMetricsRegistry(),
    });
    const delivery = startDelivery(instr, { destination: 'q', message: null, settleTimeoutMs: 10 });
    delivery.awaitSettle();
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(tracing.spans()[0]?.attributes['hoptrace.unsettled'], true);
  });
});

describe('returned messages', () => {
  it('are counted per destination and reason', async () => {
    const registry = createOpenMetricsRegistry();
    const series = getMessagingMetrics(registry).producer('rabbitmq', 'orders', 'publish');
    series.returned('no_route');
    series.returned('no_route');
    const metric = await registry.getSingleMetric('hoptrace_returned_messages_total')?.get();
    assert.deepEqual(metric?.values, [
      {
        value: 2,
        labels: { messaging_system: 'rabbitmq', messaging_destination_name: 'orders', reason: 'no_route' },
      },
    ]);
  });
});
