/**
 * The Pub/Sub subscription monitor on Google's fake server: it reads the subscriptions and dead-letter
 * topology through the Pub/Sub API; pstest has no backlog figures (no Cloud Monitoring), so on it the
 * monitor reports no depth or lag series. The real-service path (Cloud Monitoring over REST) runs
 * against a local stand-in of the Monitoring API that checks the request and answers like the real one.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../../collector/config.js';
import { startCollector } from '../../../collector/start.js';
import { PubSubMonitor } from '../../../monitors/pubsub/broker-monitor.js';
import { metricSum } from '../../helpers/collector.js';
import { emulatorHost, PROJECT_ID, pubsubFixture } from './helpers.js';

async function topology(fx: NonNullable<Awaited<ReturnType<typeof pubsubFixture>>>) {
  const topic = await fx.topic('mon');
  const deadLetterTopic = await fx.topic('mon-dl');
  const deadLetters = await fx.subscription(deadLetterTopic, 'mon-dl-sub');
  const billing = await fx.subscription(topic, 'mon-billing', {
    deadLetterPolicy: { deadLetterTopic: deadLetterTopic.name, maxDeliveryAttempts: 5 },
  });
  return { billing, deadLetters, deadLetterTopic: deadLetterTopic.name.split('/').pop()! };
}

describe('Pub/Sub subscription monitor', () => {
  it('reads the topology on pstest and reports no backlog there', async (t) => {
    const fx = await pubsubFixture(t);
    if (!fx) return;
    const collector = await startCollector({
      port: 0,
      pubsub: { projectId: PROJECT_ID, emulatorHost: emulatorHost(), intervalMs: 60_000 },
    });
    try {
      const { billing, deadLetters, deadLetterTopic } = await topology(fx);
      const settings = resolveConfig({ pubsub: { projectId: PROJECT_ID, emulatorHost: emulatorHost() } })
        .pubsub!;
      const monitor = new PubSubMonitor({ ...settings, subscriptions: [billing] });
      const reading = await monitor.poll(AbortSignal.timeout(10_000));
      await monitor.close();
      assert.deepEqual(reading, { system: 'gcp_pubsub' });
      assert.deepEqual(
        monitor.subscriptions.map((s) => [s.name, s.deadLetterTopic ?? '']).sort(),
        [
          [billing, deadLetterTopic],
          [deadLetters, ''],
        ].sort(),
      );
      // In the collector: the source is up, and no depth or lag series exist for Pub/Sub.
      await collector.pollMonitors();
      assert.equal(await metricSum(collector.metrics, 'hoptrace_collector_up', { source: 'pubsub' }), 1);
      assert.equal(
        await metricSum(collector.metrics, 'hoptrace_queue_messages', { messaging_system: 'gcp_pubsub' }),
        0,
      );
    } finally {
      await collector.close();
      await fx.close();
    }
  });

  it('reads backlog and oldest unacked age from Cloud Monitoring (a local stand-in) for the real service', async (t) => {
    const fx = await pubsubFixture(t);
    if (!fx) return;
    const { billing, deadLetters } = await topology(fx);
    const requests: URL[] = [];
    const monitoring = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      requests.push(url);
      if (req.headers.authorization !== 'Bearer test-token') {
        res.writeHead(401).end('{}');
        return;
      }
      const undelivered = url.searchParams.get('filter')!.includes('num_undelivered_messages');
      const page = url.searchParams.get('pageToken');
      const series = (id: string, value: number) => ({
        resource: { type: 'pubsub_subscription', labels: { project_id: PROJECT_ID, subscription_id: id } },
        points: [{ interval: { endTime: new Date().toISOString() }, value: { int64Value: String(value) } }],
      });
      // Two pages for the backlog, as the API pages long answers.
      const body = undelivered
        ? page
          ? { timeSeries: [series(deadLetters, 2)] }
          : { timeSeries: [series(billing, 7)], nextPageToken: 'p2' }
        : { timeSeries: [series(billing, 42)] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => monitoring.listen(0, '127.0.0.1', r));
    try {
      const monitor = new PubSubMonitor({
        projectId: PROJECT_ID,
        emulatorHost: emulatorHost(),
        subscriptions: [billing],
        backlog: true,
        monitoringUrl: `http://127.0.0.1:${(monitoring.address() as AddressInfo).port}`,
        intervalMs: 10_000,
        accessToken: async () => 'test-token',
      });
      const reading = await monitor.poll(AbortSignal.timeout(10_000));
      await monitor.close();
      assert.deepEqual(reading.queues, [
        { destination: billing, ready: 7, unacked: 0, messages: 7, oldestAgeSeconds: 42 },
        { destination: deadLetters, ready: 2, unacked: 0, messages: 2, deadLetterSources: [billing] },
      ]);
      assert.deepEqual(reading.lag, [
        { destination: billing, group: '', partition: '', messages: 7, seconds: 42 },
        { destination: deadLetters, group: '', partition: '', messages: 2 },
      ]);
      assert.equal(requests.length, 3);
      assert.ok(requests.every((u) => u.pathname === `/v3/projects/${PROJECT_ID}/timeSeries`));
    } finally {
      monitoring.close();
      await fx.close();
    }
  });
});
