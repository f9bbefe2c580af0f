import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CollectorMetrics } from '../collector/metrics.js';
import {
  METRIC_COLLECTOR_LAST_SUCCESS,
  METRIC_COLLECTOR_UP,
  METRIC_QUEUE_CONSUMERS,
} from '../instrumentation/core/semconv.js';
import { metricSum } from '../test/helpers/collector.js';
import { MonitorRunner } from './runner.js';
import { GaugeSeries } from './series.js';
import type { Monitor } from './types.js';

function scripted(
  source: string,
  results: ('ok' | 'fail' | 'hang')[],
  intervalMs = 50,
): Monitor & { polls: number } {
  const monitor = {
    source,
    intervalMs,
    polls: 0,
    async poll(signal: AbortSignal) {
      const result = results[monitor.polls++] ?? 'ok';
      if (result === 'fail') throw new Error('broker down');
      if (result === 'hang') {
        await new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      }
    },
  };
  return monitor;
}

describe('MonitorRunner', () => {
  it('turns failures into up=0 and recovers, without throwing', async () => {
    const metrics = new CollectorMetrics({ maxLabelValues: 10 });
    const monitor = scripted('rabbitmq', ['fail', 'ok']);
    const runner = new MonitorRunner([monitor], metrics);
    await runner.pollAll();
    assert.equal(await metricSum(metrics, METRIC_COLLECTOR_UP, { source: 'rabbitmq' }), 0);
    assert.deepEqual(runner.sources(), { rabbitmq: 'down' });
    await runner.pollAll();
    assert.equal(await metricSum(metrics, METRIC_COLLECTOR_UP, { source: 'rabbitmq' }), 1);
    assert.ok(
      (await metricSum(metrics, METRIC_COLLECTOR_LAST_SUCCESS, { source: 'rabbitmq' })) >
        Date.now() / 1000 - 5,
    );
    await runner.stop();
  });

  it('aborts a poll that outlives its interval and keeps polling on schedule', async () => {
    const metrics = new CollectorMetrics({ maxLabelValues: 10 });
    const monitor = scripted('kafka', ['hang', 'ok', 'ok']);
    const runner = new MonitorRunner([monitor], metrics);
    runner.start();
    await new Promise((r) => setTimeout(r, 250));
    await runner.stop();
    assert.ok(monitor.polls >= 3, `polled ${monitor.polls} times`);
    assert.equal(await metricSum(metrics, METRIC_COLLECTOR_UP, { source: 'kafka' }), 1);
  });
});

describe('GaugeSeries', () => {
  it('removes the series a poll no longer sets, and only its own', async () => {
    const metrics = new CollectorMetrics({ maxLabelValues: 10 });
    const mine = new GaugeSeries(metrics.queueConsumers);
    const other = new GaugeSeries(metrics.queueConsumers);
    other.set({ messaging_system: 'x', messaging_destination_name: 'theirs' }, 7);
    other.commit();
    mine.set({ messaging_system: 'rabbitmq', messaging_destination_name: 'a' }, 1);
    mine.set({ messaging_system: 'rabbitmq', messaging_destination_name: 'b' }, 2);
    mine.commit();
    mine.set({ messaging_system: 'rabbitmq', messaging_destination_name: 'b' }, 3);
    mine.commit();
    assert.equal(await metricSum(metrics, METRIC_QUEUE_CONSUMERS, { messaging_destination_name: 'a' }), 0);
    assert.equal(await metricSum(metrics, METRIC_QUEUE_CONSUMERS, { messaging_destination_name: 'b' }), 3);
    assert.equal(
      await metricSum(metrics, METRIC_QUEUE_CONSUMERS, { messaging_destination_name: 'theirs' }),
      7,
    );
  });
});
