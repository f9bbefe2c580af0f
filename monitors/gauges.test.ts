import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CollectorMetrics } from '../collector/metrics.js';
import {
  METRIC_COLLECTOR_UP,
  METRIC_CONSUMER_LAG_MESSAGES,
  METRIC_CONSUMER_LAG_SECONDS,
  METRIC_CONSUMER_LAG_STATUS,
  METRIC_DLQ_MESSAGES,
  METRIC_QUEUE_MESSAGES,
  METRIC_QUEUE_OLDEST_AGE,
} from '../instrumentation/core/semconv.js';
import { metricSum } from '../test/helpers/collector.js';
import { ReadingRecorder } from './gauges.js';
import { lagReading } from './kafka/broker-monitor.js';
import { queueReading } from './rabbitmq/broker-monitor.js';
import { MonitorRunner } from './runner.js';
import type { BrokerReading, Monitor } from './types.js';

async function series(metrics: CollectorMetrics, name: string) {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, name);
  return (await metric.get()).values.map((v) => ({ labels: v.labels, value: v.value }));
}

describe('ReadingRecorder', () => {
  it('writes a RabbitMQ reading: depths, lag = ready with empty group and partition, DLQ sources sorted', async () => {
    const metrics = new CollectorMetrics({ maxLabelValues: 10 });
    const now = 1_700_000_000;
    const reading = queueReading(
      [
        {
          name: 'orders',
          messages_ready: 4,
          messages_unacknowledged: 1,
          consumers: 2,
          head_message_timestamp: now - 30,
        },
        { name: 'orders.dlq', messages: 7, messages_ready: 7, consumers: 0 },
      ],
      new Map([['orders.dlq', new Set(['orders', 'billing'])]]),
      now,
    );
    new ReadingRecorder(metrics).record(reading);
    assert.equal(
      await metricSum(metrics, METRIC_QUEUE_MESSAGES, {
        messaging_destination_name: 'orders',
        state: 'ready',
      }),
      4,
    );
    assert.equal(
      await metricSum(metrics, METRIC_QUEUE_MESSAGES, {
        messaging_destination_name: 'orders',
        state: 'unacked',
      }),
      1,
    );
    assert.equal(
      await metricSum(metrics, METRIC_QUEUE_OLDEST_AGE, { messaging_destination_name: 'orders' }),
      30,
    );
    assert.deepEqual(await series(metrics, METRIC_CONSUMER_LAG_MESSAGES), [
      {
        labels: {
          messaging_system: 'rabbitmq',
          messaging_destination_name: 'orders',
          messaging_consumer_group_name: '',
          messaging_destination_partition_id: '',
        },
        value: 4,
      },
      {
        labels: {
          messaging_system: 'rabbitmq',
          messaging_destination_name: 'orders.dlq',
          messaging_consumer_group_name: '',
          messaging_destination_partition_id: '',
        },
        value: 7,
      },
    ]);
    assert.deepEqual(await series(metrics, METRIC_DLQ_MESSAGES), [
      {
        labels: {
          messaging_system: 'rabbitmq',
          messaging_destination_name: 'orders.dlq',
          dead_letter_source: 'billing,orders',
        },
        value: 7,
      },
    ]);
    // Only the queue with a head timestamp has an age.
    assert.equal((await series(metrics, METRIC_CONSUMER_LAG_SECONDS)).length, 1);
  });

  it('writes a Kafka reading per partition and group, and removes what the next reading lacks', async () => {
    const metrics = new CollectorMetrics({ maxLabelValues: 10 });
    const recorder = new ReadingRecorder(metrics);
    const partitions = [
      { topic: 'orders', partition: 0, lag: 3, lagSeconds: 1.5 },
      { topic: 'orders', partition: 1, lag: 0, lagSeconds: 0 },
    ];
    recorder.record(lagReading({ groups: [{ group: 'billing', status: 'WARN', partitions }], errors: [] }));
    assert.equal(
      await metricSum(metrics, METRIC_CONSUMER_LAG_MESSAGES, { messaging_destination_partition_id: '0' }),
      3,
    );
    assert.equal(
      await metricSum(metrics, METRIC_CONSUMER_LAG_SECONDS, { messaging_destination_partition_id: '0' }),
      1.5,
    );
    assert.equal(
      await metricSum(metrics, METRIC_CONSUMER_LAG_STATUS, { messaging_consumer_group_name: 'billing' }),
      1,
    );
    recorder.record(
      lagReading({
        groups: [{ group: 'billing', status: undefined, partitions: [partitions[0]] }],
        errors: [],
      }),
    );
    assert.equal((await series(metrics, METRIC_CONSUMER_LAG_MESSAGES)).length, 1);
    assert.equal((await series(metrics, METRIC_CONSUMER_LAG_STATUS)).length, 0);
  });
});

describe('MonitorRunner with readings', () => {
  it('records a partial reading, then reports the source down with its error', async () => {
    const metrics = new CollectorMetrics({ maxLabelValues: 10 });
    const reading: BrokerReading = lagReading({
      groups: [
        {
          group: 'billing',
          status: 'OK',
          partitions: [{ topic: 't', partition: 0, lag: 2, lagSeconds: undefined }],
        },
      ],
      errors: [{ group: 'fraud', message: 'coordinator not available' }],
    });
    assert.match(
      reading.error?.message ?? '',
      /^kafka: 1 lag read error\(s\), first: fraud: coordinator not available$/,
    );
    const monitor: Monitor = { source: 'kafka', intervalMs: 1_000, poll: async () => reading };
    const runner = new MonitorRunner([monitor], metrics);
    await runner.pollAll();
    assert.equal(
      await metricSum(metrics, METRIC_CONSUMER_LAG_MESSAGES, { messaging_consumer_group_name: 'billing' }),
      2,
    );
    assert.equal(await metricSum(metrics, METRIC_COLLECTOR_UP, { source: 'kafka' }), 0);
    assert.deepEqual(runner.sources(), { kafka: 'down' });
    await runner.stop();
  });
  it('ages the lag in seconds of a partition without progress at scrape time, until the next reading', async () => {
    const metrics = new CollectorMetrics({ maxLabelValues: 10 });
    const recorder = new ReadingRecorder(metrics);
    const at = Date.now() - 4000;
    const partition = (growing: boolean) => ({
      topic: 'orders',
      partition: 0,
      lag: 3,
      lagSeconds: 1.5,
      lagSecondsGrowing: growing,
      committedOffset: '7',
      highWatermark: '10',
      lowWatermark: '0',
      lostMessages: 0,
    });
    const reading = (growing: boolean) =>
      lagReading({
        at,
        groups: [
          { group: 'billing', status: 'OK', members: 0, state: 'Empty', partitions: [partition(growing)] },
        ],
        errors: [],
      });
    recorder.record(reading(true));
    const aged = await metricSum(metrics, METRIC_CONSUMER_LAG_SECONDS, {
      messaging_destination_partition_id: '0',
    });
    assert.ok(aged >= 5.5 && aged < 6.5, `1.5 s measured 4 s ago reads ${aged}`);
    assert.equal(await metricSum(metrics, 'hoptrace_kafka_consumergroup_members', {}), 0);
    assert.equal(await metricSum(metrics, 'hoptrace_kafka_consumergroup_current_offset', {}), 7);
    assert.equal(await metricSum(metrics, 'hoptrace_kafka_consumergroup_lag_sum', {}), 3);
    recorder.record(reading(false));
    assert.equal(
      await metricSum(metrics, METRIC_CONSUMER_LAG_SECONDS, { messaging_destination_partition_id: '0' }),
      1.5,
      'progress: the value holds',
    );
    recorder.record(lagReading({ at, groups: [], errors: [] }));
    assert.equal((await series(metrics, METRIC_CONSUMER_LAG_SECONDS)).length, 0, 'gone, and not aged back');
  });
});
