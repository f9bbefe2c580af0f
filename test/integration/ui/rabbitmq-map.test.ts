/**
 * The map of the RabbitMQ demo on the real RabbitMQ, with the collector's RabbitMQ monitor: the
 * exchange routes to its queues, the email queue dead-letters into the DLQ (from spans and from the
 * broker's dead-letter configuration), and the DLQ shows its depth and its consumer's lag as the
 * management API reports them. The page draws it (screenshot `map-rabbitmq.png`).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import amqplib from 'amqplib';
import { runRabbitDemo } from '../../../cli/demo/rabbitmq.js';
import { demoTopology } from '../../../cli/demo/rabbitmq-topology.js';
import { setupTelemetry } from '../../../cli/demo/telemetry.js';
import type { FlowMap } from '../../../collector/journey/map-types.js';
import { fromReadableSpan } from '../../../collector/otlp/readable-span.js';
import { startCollector } from '../../../collector/start.js';
import { launchChromium, SCREENSHOTS } from '../../helpers/browser.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';

const AMQP = stackEndpoint('HOPTRACE_AMQP_URL');
const MANAGEMENT = stackEndpoint('HOPTRACE_RABBITMQ_MANAGEMENT_URL');

describe('flow map of the RabbitMQ demo', () => {
  it('shows routes, the dead-letter edge, DLQ depth and lag from the broker', async (t) => {
    if (!(await requireServer(t, 'RabbitMQ', async () => (await amqplib.connect(AMQP)).close()))) return;
    const prefix = `hoptrace-ui-${randomBytes(3).toString('hex')}`;
    const topology = demoTopology(prefix);
    const collector = await startCollector({
      port: 0,
      rabbitmq: { managementUrl: MANAGEMENT, intervalMs: 60_000 },
    });
    const admin = await amqplib.connect(AMQP);
    const ch = await admin.createChannel();
    try {
      const telemetry = setupTelemetry({ serviceName: 'hoptrace-demo' });
      try {
        const result = await runRabbitDemo({ url: AMQP, orders: 6, prefix });
        assert.equal(result.deadLetters.size, 2);
        await collector.ingestSpans(telemetry.spans().map(fromReadableSpan));
      } finally {
        await telemetry.shutdown();
      }
      // Exactly one dead letter nobody reads (the demo's audit consumer may leave one unacked as it
      // shuts down), so the DLQ has a known depth to show.
      await ch.purgeQueue(topology.emailDeadLetters);
      ch.publish(topology.deadLetterExchange, '', Buffer.from('{}'));
      const q = (name: string) => `destination:rabbitmq:${name}`;
      // The management API refreshes queue figures every 5 s: poll until the dead letter shows.
      let map: FlowMap | undefined;
      for (let i = 0; i < 40; i++) {
        await collector.pollMonitors();
        map = (await (await fetch(`${collector.url}/api/map`)).json()) as FlowMap;
        if (map.nodes.find((n) => n.id === q(topology.emailDeadLetters))?.dlqDepth === 1) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(map);
      const edge = (id: string) => {
        const found = map.edges.find((e) => e.id === id);
        assert.ok(found, `${id} in ${map.edges.map((e) => e.id).join(', ')}`);
        return found;
      };
      const publish = map.edges.find((e) => e.kind === 'publish' && e.to === q(topology.exchange));
      assert.equal(publish?.count, 6);
      for (const queue of [topology.billing, topology.inventory, topology.email]) {
        assert.equal(edge(`route:${q(topology.exchange)}->${q(queue)}`).count, 6, queue);
      }
      const email = map.edges.find((e) => e.kind === 'consume' && e.from === q(topology.email));
      assert.equal(email?.deadLetters, 2);
      assert.ok((email?.p95Ms ?? 0) > 0);
      assert.equal(edge(`dead_letter:${q(topology.email)}->${q(topology.emailDeadLetters)}`).count, 2);
      const dlq = map.nodes.find((n) => n.id === q(topology.emailDeadLetters));
      assert.equal(dlq?.dlqDepth, 1, 'from the monitor');
      assert.equal(dlq?.deadLetter, true);
      const audit = map.edges.find((e) => e.kind === 'consume' && e.from === q(topology.emailDeadLetters));
      assert.equal(audit?.lag?.messages, 1, 'the DLQ consumer group lags by the unread dead letter');
      assert.equal(map.nodes.find((n) => n.id === q(topology.billing))?.depth, 0);

      const browser = await launchChromium(t);
      if (!browser) return;
      try {
        const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
        await page.goto(`${collector.url}/`);
        await page.waitForSelector(`.map-svg[data-nodes="${map.nodes.length}"]`);
        const dlqText = await page.textContent(`[data-node-id="${q(topology.emailDeadLetters)}"]`);
        assert.match(dlqText ?? '', /DLQ depth 1/);
        mkdirSync(SCREENSHOTS, { recursive: true });
        await page.locator('.map').screenshot({ path: join(SCREENSHOTS, 'map-rabbitmq.png') });
      } finally {
        await browser.close();
      }
    } finally {
      await collector.close();
      for (const queue of [topology.billing, topology.inventory, topology.email, topology.emailDeadLetters]) {
        await ch.deleteQueue(queue).catch(() => {});
      }
      for (const exchange of [topology.exchange, topology.deadLetterExchange]) {
        await ch.deleteExchange(exchange).catch(() => {});
      }
      await admin.close();
    }
  });
});
