/**
 * Kafka consumer lag on the collector's /metrics equals the broker's own offsets: per partition,
 * high watermark - committed offset, read back with the kafkajs admin client.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { startCollector } from '../../../collector/start.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';

const BROKERS = stackEndpoint('HOPTRACE_KAFKA_BROKERS').split(',');

function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(' ').pop());
  }
  return undefined;
}

describe('Kafka lag through the collector', () => {
  it('exports lag per partition equal to high watermark - committed offset', async (t) => {
    const kafka = new Kafka({ clientId: 'hoptrace-test', brokers: BROKERS, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    if (!(await requireServer(t, 'Kafka', () => admin.connect()))) return;
    const id = randomBytes(4).toString('hex');
    const topic = `hoptrace-test.collector-lag.${id}`;
    const group = `hoptrace-test.collector-lag.${id}`;
    const producer = kafka.producer();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      await producer.connect();
      await producer.send({
        topic,
        messages: Array.from({ length: 7 }, (_, i) => ({ partition: 0, value: `a${i}` })),
      });
      await producer.send({
        topic,
        messages: Array.from({ length: 4 }, (_, i) => ({ partition: 1, value: `b${i}` })),
      });
      // The group has read 2 records of partition 0 and all of partition 1.
      await admin.setOffsets({
        groupId: group,
        topic,
        partitions: [
          { partition: 0, offset: '2' },
          { partition: 1, offset: '4' },
        ],
      });

      const collector = await startCollector({
        port: 0,
        kafka: { brokers: BROKERS, groups: [group], intervalMs: 60_000 },
      });
      try {
        await collector.pollMonitors();
        const metrics = await (await fetch(`${collector.url}/metrics`)).text();
        const watermarks = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        for (const p of committed.partitions) {
          const high = Number(watermarks.find((w) => w.partition === p.partition)?.high);
          const labels = {
            messaging_system: 'kafka',
            messaging_destination_name: topic,
            messaging_consumer_group_name: group,
            messaging_destination_partition_id: String(p.partition),
          };
          assert.equal(
            value(metrics, 'hoptrace_consumer_lag_messages', labels),
            high - Number(p.offset),
            `partition ${p.partition}`,
          );
        }
        assert.equal(
          value(metrics, 'hoptrace_consumer_lag_messages', {
            messaging_destination_partition_id: '0',
            messaging_consumer_group_name: group,
          }),
          5,
        );
        assert.equal(
          value(metrics, 'hoptrace_consumer_lag_messages', {
            messaging_destination_partition_id: '1',
            messaging_consumer_group_name: group,
          }),
          0,
        );
        assert.equal(value(metrics, 'hoptrace_collector_up', { source: 'kafka' }), 1);
        assert.ok(
          value(metrics, 'hoptrace_consumer_lag_status', { messaging_consumer_group_name: group }) !==
            undefined,
        );
      } finally {
        await collector.close();
      }
    } finally {
      await producer.disconnect().catch(() => {});
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.deleteGroups([group]).catch(() => {});
      await admin.disconnect();
    }
  });
});
