import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../collector/config.js';
import {
  deadLetterSources,
  latestBySubscription,
  METRIC_UNDELIVERED,
  pubsubReading,
  type SubscriptionInfo,
  timeSeriesUrl,
} from './broker-monitor.js';

const subs: SubscriptionInfo[] = [
  { name: 'billing', topic: 'orders', deadLetterTopic: 'orders-dl' },
  { name: 'audit', topic: 'orders', deadLetterTopic: 'orders-dl' },
  { name: 'orders-dl-sub', topic: 'orders-dl', deadLetterTopic: undefined },
];

describe('Pub/Sub monitor readings', () => {
  it('finds dead-letter subscriptions through the policies that forward to their topic', () => {
    assert.deepEqual([...deadLetterSources(subs)], [['orders-dl-sub', ['audit', 'billing']]]);
  });

  it('maps backlog and oldest unacked age to queue depth, oldest age and lag', () => {
    const reading = pubsubReading(subs, {
      undelivered: new Map([
        ['billing', 4],
        ['orders-dl-sub', 2],
      ]),
      oldestAgeSeconds: new Map([['billing', 30]]),
    });
    assert.equal(reading.system, 'gcp_pubsub');
    assert.deepEqual(reading.queues, [
      { destination: 'billing', ready: 4, unacked: 0, messages: 4, oldestAgeSeconds: 30 },
      {
        destination: 'orders-dl-sub',
        ready: 2,
        unacked: 0,
        messages: 2,
        deadLetterSources: ['audit', 'billing'],
      },
    ]);
    assert.deepEqual(reading.lag, [
      { destination: 'billing', group: '', partition: '', messages: 4, seconds: 30 },
      { destination: 'orders-dl-sub', group: '', partition: '', messages: 2 },
    ]);
  });

  it('reports no series without backlog figures (emulators)', () => {
    assert.deepEqual(pubsubReading(subs, undefined), { system: 'gcp_pubsub' });
  });

  it('reads the newest point per subscription from a timeSeries.list page', () => {
    const values = latestBySubscription({
      timeSeries: [
        {
          resource: { labels: { subscription_id: 'billing' } },
          points: [{ value: { int64Value: '12' } }, { value: { int64Value: '3' } }],
        },
        { resource: { labels: { subscription_id: 'audit' } }, points: [{ value: { doubleValue: 1.5 } }] },
        { resource: { labels: {} }, points: [{ value: { int64Value: '1' } }] },
        { resource: { labels: { subscription_id: 'bad' } }, points: [{ value: { int64Value: 'x' } }] },
      ],
    });
    assert.deepEqual(
      [...values],
      [
        ['billing', 12],
        ['audit', 1.5],
      ],
    );
  });

  it('asks Cloud Monitoring for one metric of pubsub_subscription resources over the last 10 minutes', () => {
    const config = resolveConfig({ pubsub: { projectId: 'my-project' } }).pubsub!;
    const url = new URL(timeSeriesUrl(config, METRIC_UNDELIVERED, Date.UTC(2026, 0, 1), 'next'));
    assert.equal(
      url.origin + url.pathname,
      'https://monitoring.googleapis.com/v3/projects/my-project/timeSeries',
    );
    assert.equal(
      url.searchParams.get('filter'),
      'metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages" AND resource.type = "pubsub_subscription"',
    );
    assert.equal(url.searchParams.get('interval.startTime'), '2025-12-31T23:50:00.000Z');
    assert.equal(url.searchParams.get('pageToken'), 'next');
  });

  it('resolves the collector option: backlog on for the real service, off on an emulator', () => {
    assert.equal(resolveConfig({ pubsub: { projectId: 'my-project' } }).pubsub?.backlog, true);
    const emulated = resolveConfig({
      pubsub: { projectId: 'my-project', emulatorHost: '127.0.0.1:38085' },
    }).pubsub;
    assert.equal(emulated?.backlog, false);
    assert.equal(emulated?.intervalMs, 15_000);
    assert.throws(() => resolveConfig({ pubsub: { projectId: 'X' } }), /projectId/);
    assert.throws(
      () => resolveConfig({ pubsub: { projectId: 'my-project', emulatorHost: 'nohost' } }),
      /emulatorHost/,
    );
    assert.throws(
      () => resolveConfig({ pubsub: { projectId: 'my-project', bogus: 1 } as never }),
      /unknown option/,
    );
    assert.equal(resolveConfig({}).pubsub, undefined);
  });
});
