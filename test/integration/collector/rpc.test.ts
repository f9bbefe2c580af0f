/**
 * RPC on the real RabbitMQ through the collector: each call (request, and the reply through a fresh
 * exclusive queue or direct reply-to) is one journey under the application's `correlationId`; the
 * collector's linking metrics and the RabbitMQ monitor name temporary queues by their placeholder, and
 * their series count does not grow with the number of reply queues.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import amqplib, { type Channel } from 'amqplib';
import { type Collector, startCollector } from '../../../collector/start.js';
import { instrumentAmqp } from '../../../instrumentation/amqp/index.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { installContextManager } from '../../helpers/tracing.js';

const url = () => stackEndpoint('HOPTRACE_AMQP_URL');
const LIMITS = { unconsumedDeadlineMs: 500, linkWindowMs: 500, sweepIntervalMs: 50 };

function exportingProvider(collector: Collector, service: string): TracerProvider {
  installContextManager();
  return new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${collector.url}/v1/traces` }),
        scheduledDelayMillis: 20,
      }),
    ],
  });
}

/** `name{labels}` of every sample of `metric` in a Prometheus text page. */
function series(text: string, metric: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric}_count{`));
}

const destinationLabels = (lines: string[]) =>
  [...new Set(lines.map((l) => /messaging_destination_name="([^"]*)"/.exec(l)?.[1]))].sort();

describe('RPC through the collector', () => {
  it('each call is one journey; reply queues are one placeholder in metrics and the map', async (t) => {
    if (!(await requireServer(t, 'RabbitMQ', () => amqplib.connect(url()).then((c) => c.close())))) return;
    const collector = await startCollector({ port: 0, limits: LIMITS });
    const clientProvider = exportingProvider(collector, 'rpc-client');
    const serverProvider = exportingProvider(collector, 'rpc-server');
    const rawClient = await amqplib.connect(url());
    const rawServer = await amqplib.connect(url());
    const queue = `hoptrace-test.rpc.${randomBytes(4).toString('hex')}`;
    try {
      const registry = createOpenMetricsRegistry();
      const client = instrumentAmqp(rawClient, { tracerProvider: clientProvider, registry });
      const server = instrumentAmqp(rawServer, { tracerProvider: serverProvider, registry });
      const serverChannel = await server.createChannel();
      await serverChannel.assertQueue(queue, { durable: false, autoDelete: true });
      await serverChannel.consume(queue, (msg) => {
        if (!msg) return;
        serverChannel.sendToQueue(msg.properties.replyTo, Buffer.from(`re:${msg.content}`), {
          correlationId: msg.properties.correlationId,
        });
        serverChannel.ack(msg);
      });

      const ch = await client.createChannel();
      const call = async (replyTo: string | undefined): Promise<string> => {
        const correlationId = randomUUID();
        const reply = replyTo ?? (await ch.assertQueue('', { exclusive: true })).queue;
        const answered = new Promise<void>((resolve) => {
          if (replyTo) directReplies.set(correlationId, resolve);
          else
            void ch.consume(
              reply,
              (m) => {
                if (m?.properties.correlationId === correlationId) resolve();
              },
              { noAck: true },
            );
        });
        ch.sendToQueue(queue, Buffer.from('ping'), { correlationId, replyTo: reply });
        await answered;
        if (!replyTo) await ch.deleteQueue(reply);
        return correlationId;
      };
      const directReplies = new Map<string, () => void>();
      const direct = await client.createChannel();
      await direct.consume(
        'amq.rabbitmq.reply-to',
        (m) => {
          if (m) directReplies.get(m.properties.correlationId)?.();
        },
        { noAck: true },
      );
      const viaDirect = async () => {
        const correlationId = randomUUID();
        const answered = new Promise<void>((resolve) => directReplies.set(correlationId, resolve));
        direct.sendToQueue(queue, Buffer.from('ping'), { correlationId, replyTo: 'amq.rabbitmq.reply-to' });
        await answered;
        return correlationId;
      };

      const calls: string[] = [];
      for (let i = 0; i < 5; i++) calls.push(await call(undefined));
      await flush(clientProvider, serverProvider);
      const hopsAfter5 = series(await metricsText(collector), 'hoptrace_hop_latency_seconds').length;
      for (let i = 0; i < 15; i++) calls.push(await call(undefined));
      const directCalls: string[] = [await viaDirect(), await viaDirect()];
      await flush(clientProvider, serverProvider);
      await new Promise((r) => setTimeout(r, 1_000)); // past the link window and deadlines

      for (const id of [...calls, ...directCalls]) {
        const journey = collector.linker.journey(id);
        assert.ok(journey, `journey ${id}`);
        assert.equal(journey.publishes.length, 1);
        const served = journey.publishes[0]?.deliveries[0];
        assert.equal(served?.destination, queue);
        assert.equal(served?.service, 'rpc-server');
        const replied = served?.publishes[0]?.deliveries[0];
        assert.equal(replied?.service, 'rpc-client');
        assert.equal(replied?.attempts[0]?.matchedBy, 'parent');
        if (directCalls.includes(id)) assert.equal(replied?.destination, 'amq.rabbitmq.reply-to');
        else assert.match(String(replied?.destination), /^amq\.gen-/);
        assert.equal(journey.counts.orphans, 0);
        assert.equal(journey.counts.deliveries, 2);
      }

      const text = await metricsText(collector);
      const hops = series(text, 'hoptrace_hop_latency_seconds');
      assert.deepEqual(destinationLabels(hops), ['(temporary)', queue]);
      assert.equal(hops.length, hopsAfter5, 'the hop series do not grow with the reply queues');
      assert.ok(!text.includes('amq.gen-'), 'no server-named queue in any label');

      const map = (await (await fetch(`${collector.url}/api/map`)).json()) as { nodes: { name: string }[] };
      const names = map.nodes.map((n) => n.name);
      assert.ok(names.includes('(temporary)'));
      assert.ok(!names.some((n) => n.startsWith('amq.gen-')));
    } finally {
      await rawClient.close().catch(() => undefined);
      await rawServer.close().catch(() => undefined);
      await clientProvider.shutdown();
      await serverProvider.shutdown();
      await collector.close();
    }
  });

  it('the RabbitMQ monitor reports exclusive queues under (temporary); more of them add no series', async (t) => {
    const management = new URL(stackEndpoint('HOPTRACE_RABBITMQ_MANAGEMENT_URL'));
    const reachable = await requireServer(t, 'RabbitMQ management API', () =>
      fetch(`${management.protocol}//${management.host}/api/overview`, {
        headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
      }).then((r) => {
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
      }),
    );
    if (!reachable) return;
    const collector = await startCollector({
      port: 0,
      rabbitmq: { managementUrl: management.href, intervalMs: 60_000 },
    });
    const conn = await amqplib.connect(url());
    try {
      const ch: Channel = await conn.createChannel();
      const declare = async (n: number) => {
        for (let i = 0; i < n; i++) await ch.assertQueue('', { exclusive: true });
      };
      await declare(5);
      await waitForListed(collector, 5);
      const before = series(await metricsText(collector), 'hoptrace_queue_messages');
      await declare(20);
      await collector.pollMonitors();
      const text = await metricsText(collector);
      const after = series(text, 'hoptrace_queue_messages');
      assert.ok(destinationLabels(after).includes('(temporary)'));
      assert.ok(!text.includes('amq.gen-'), 'no server-named queue in any label');
      // Other runs on the shared broker add and remove their own queues meanwhile: compare ours only.
      const ours = (lines: string[]) => lines.filter((l) => l.includes('"(temporary)"')).length;
      assert.equal(ours(after), ours(before));
    } finally {
      await conn.close().catch(() => undefined);
      await collector.close();
    }
  });
});

async function flush(...providers: TracerProvider[]): Promise<void> {
  for (const p of providers) await p.forceFlush();
  await new Promise((r) => setTimeout(r, 200));
}

async function metricsText(collector: Collector): Promise<string> {
  return (await fetch(`${collector.url}/metrics`)).text();
}

/** Polls until the management API lists at least `n` exclusive queues under the placeholder. */
async function waitForListed(collector: Collector, n: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await collector.pollMonitors();
    const text = await metricsText(collector);
    const line = text
      .split('\n')
      .find((l) => l.startsWith('hoptrace_queue_consumers{') && l.includes('"(temporary)"'));
    if (line !== undefined || Date.now() > deadline) {
      assert.ok(line !== undefined, `(temporary) listed; exclusive queues declared: ${n}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
