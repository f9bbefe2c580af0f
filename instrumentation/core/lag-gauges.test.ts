import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Gauge } from 'prom-client';
import { lagGauges } from './lag-gauges.js';
import { createOpenMetricsRegistry } from './metrics.js';

const labels = (group: string) => ({
  messaging_system: 'kafka',
  messaging_destination_name: 'orders',
  messaging_consumer_group_name: group,
  messaging_destination_partition_id: '0',
});

describe('lag gauges', () => {
  it('one set per registry: sources share it, a removed source leaves no series', async () => {
    const registry = createOpenMetricsRegistry();
    const removeA = lagGauges(registry).add((write) => write.messages(labels('a'), 3));
    lagGauges(registry).add((write) => write.messages(labels('b'), 4));
    assert.equal(lagGauges(registry), lagGauges(registry));
    let text = await registry.metrics();
    assert.match(text, /hoptrace_consumer_lag_messages\{[^}]*group_name="a"[^}]*\} 3\n/);
    assert.match(text, /hoptrace_consumer_lag_messages\{[^}]*group_name="b"[^}]*\} 4\n/);
    removeA();
    text = await registry.metrics();
    assert.doesNotMatch(text, /group_name="a"/);
    assert.match(
      text,
      /# HELP hoptrace_consumer_lag_messages Messages a consumer group has not processed yet/,
    );
  });

  it('leaves a name another metric holds alone, and records nothing into it', async () => {
    const registry = createOpenMetricsRegistry();
    const mine = new Gauge({ name: 'hoptrace_consumer_lag_seconds', help: 'mine', registers: [registry] });
    mine.set(42);
    const gauges = lagGauges(registry);
    gauges.add((write) => write.seconds(labels('a'), 9));
    assert.equal(registry.getSingleMetric('hoptrace_consumer_lag_seconds'), mine);
    const text = await registry.metrics();
    assert.match(text, /^hoptrace_consumer_lag_seconds 42$/m);
    assert.doesNotMatch(text, /hoptrace_consumer_lag_seconds\{/);
  });

  it('keeps values set directly when no source reports (the collector)', async () => {
    const registry = createOpenMetricsRegistry();
    lagGauges(registry).status.set({ messaging_system: 'kafka', messaging_consumer_group_name: 'g' }, 2);
    assert.match(await registry.metrics(), /hoptrace_consumer_lag_status\{[^}]*\} 2\n/);
  });
});
