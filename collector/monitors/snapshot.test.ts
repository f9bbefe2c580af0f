import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CollectorMetrics } from '../metrics.js';
import { brokerSnapshot } from './snapshot.js';

describe('broker snapshot for the flow map', () => {
  it('reads depth, DLQ depth and sources, and lag summed over partitions', async () => {
    const metrics = new CollectorMetrics({ maxLabelValues: 200 });
    const queue = { messaging_system: 'rabbitmq', messaging_destination_name: 'email.dlq' };
    metrics.queueMessages.set({ ...queue, state: 'ready' }, 3);
    metrics.queueMessages.set({ ...queue, state: 'unacked' }, 1);
    metrics.dlqMessages.set({ ...queue, dead_letter_source: 'email,sms' }, 4);
    const lag = {
      messaging_system: 'kafka',
      messaging_destination_name: 'orders',
      messaging_consumer_group_name: 'billing',
    };
    metrics.lagMessages.set({ ...lag, messaging_destination_partition_id: '0' }, 5);
    metrics.lagMessages.set({ ...lag, messaging_destination_partition_id: '1' }, 7);
    metrics.lagSeconds.set({ ...lag, messaging_destination_partition_id: '0' }, 2);
    metrics.lagSeconds.set({ ...lag, messaging_destination_partition_id: '1' }, 9);
    const snapshot = await brokerSnapshot(metrics);
    assert.deepEqual(snapshot.destinations, [
      {
        system: 'rabbitmq',
        destination: 'email.dlq',
        depth: 4,
        dlqDepth: 4,
        deadLetterSources: ['email', 'sms'],
      },
    ]);
    assert.deepEqual(snapshot.lag, [
      { system: 'kafka', destination: 'orders', group: 'billing', messages: 12, seconds: 9 },
    ]);
  });
});
