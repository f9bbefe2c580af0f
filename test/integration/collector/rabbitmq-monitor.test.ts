/**
 * The RabbitMQ monitor against the real broker: the gauges on /metrics must equal what the
 * management API itself reports, for queues with ready and unacked messages, consumers, a
 * head-message timestamp, and dead-letter queues configured by queue arguments and by a policy.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import amqplib from 'amqplib';
import { type Collector, startCollector } from '../../../collector/start.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';

const MANAGEMENT = new URL(stackEndpoint('HOPTRACE_RABBITMQ_MANAGEMENT_URL'));
const AUTH = `Basic ${Buffer.from(`${decodeURIComponent(MANAGEMENT.username) || 'guest'}:${decodeURIComponent(MANAGEMENT.password) || 'guest'}`).toString('base64')}`;
const BASE = `${MANAGEMENT.protocol}//${MANAGEMENT.host}/api`;
const VHOST = '%2F';

async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${BASE}/${path}`, {
    method,
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok && response.status !== 404) throw new Error(`${method} ${path}: HTTP ${response.status}`);
  const text = await response.text();
  return text ? JSON.parse(text) : undefined;
}

interface Queue {
  name: string;
  messages: number;
  messages_ready: number;
  messages_unacknowledged: number;
  consumers: number;
  head_message_timestamp: number | null;
}

/** Parses `name{labels} value` lines of the Prometheus text format. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = /^[^{]+\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  return samples(text, name).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('RabbitMQ monitor on the real broker', () => {
  const id = randomBytes(4).toString('hex');
  const name = (suffix: string) => `hoptrace-test.monitor.${id}.${suffix}`;
  const orders = name('orders');
  const ordersDlq = name('orders.dlq');
  const billing = name('billing');
  const billingDlq = name('billing.dlq');
  const dlx = name('dlx');
  const policy = name('policy');
  let connection: Awaited<ReturnType<typeof amqplib.connect>> | undefined;
  let available = false;

  // Probed once; each test then fails (CI) or skips (locally) through requireServer.
  const probe = api('GET', 'overview');
  probe.catch(() => {});

  before(async () => {
    available = await probe.then(
      () => true,
      () => false,
    );
    if (!available) return;
    await api('PUT', `exchanges/${VHOST}/${encodeURIComponent(dlx)}`, {
      type: 'direct',
      durable: false,
      auto_delete: false,
    });
    await api('PUT', `queues/${VHOST}/${encodeURIComponent(orders)}`, {
      durable: false,
      arguments: { 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'orders' },
    });
    await api('PUT', `queues/${VHOST}/${encodeURIComponent(ordersDlq)}`, { durable: false });
    await api('POST', `bindings/${VHOST}/e/${encodeURIComponent(dlx)}/q/${encodeURIComponent(ordersDlq)}`, {
      routing_key: 'orders',
    });
    await api('PUT', `policies/${VHOST}/${encodeURIComponent(policy)}`, {
      pattern: `^${billing.replace(/\./g, '\\.')}$`,
      'apply-to': 'queues',
      definition: { 'dead-letter-exchange': '', 'dead-letter-routing-key': billingDlq },
    });
    await api('PUT', `queues/${VHOST}/${encodeURIComponent(billing)}`, { durable: false });
    await api('PUT', `queues/${VHOST}/${encodeURIComponent(billingDlq)}`, { durable: false });

    const timestamp = Math.floor(Date.now() / 1000) - 120;
    const publish = (queue: string, n: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          api('POST', `exchanges/${VHOST}/amq.default/publish`, {
            properties: { timestamp: timestamp + i },
            routing_key: queue,
            payload: `m${i}`,
            payload_encoding: 'string',
          }),
        ),
      );
    await publish(orders, 5);
    await publish(billing, 3);
    // Dead-letter one message of each through the broker: get + reject without requeue.
    for (const queue of [orders, billing]) {
      await api('POST', `queues/${VHOST}/${encodeURIComponent(queue)}/get`, {
        count: 1,
        ackmode: 'reject_requeue_false',
        encoding: 'auto',
      });
    }
    // A consumer holding two orders unacked.
    connection = await amqplib.connect(stackEndpoint('HOPTRACE_AMQP_URL'));
    const channel = await connection.createChannel();
    await channel.prefetch(2);
    await channel.consume(orders, () => {}, { noAck: false });

    // The management API refreshes its numbers every few seconds: wait until they settle.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const q = (await api('GET', `queues/${VHOST}/${encodeURIComponent(orders)}`)) as Queue;
      const d = (await api('GET', `queues/${VHOST}/${encodeURIComponent(billingDlq)}`)) as Queue;
      if (q.messages_unacknowledged === 2 && q.messages_ready === 2 && q.consumers === 1 && d.messages === 1)
        break;
      if (Date.now() > deadline) throw new Error(`queues did not settle: ${JSON.stringify({ q, d })}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  after(async () => {
    await connection?.close().catch(() => {});
    if (!available) return;
    for (const queue of [orders, ordersDlq, billing, billingDlq])
      await api('DELETE', `queues/${VHOST}/${encodeURIComponent(queue)}`);
    await api('DELETE', `exchanges/${VHOST}/${encodeURIComponent(dlx)}`);
    await api('DELETE', `policies/${VHOST}/${encodeURIComponent(policy)}`);
  });

  it('exports the numbers the management API reports', async (t) => {
    if (!(await requireServer(t, 'RabbitMQ management API', () => probe))) return;
    let collector: Collector | undefined;
    try {
      collector = await startCollector({
        port: 0,
        rabbitmq: { managementUrl: MANAGEMENT.href, intervalMs: 60_000 },
      });
      await collector.pollMonitors();
      const metrics = await (await fetch(`${collector.url}/metrics`)).text();
      const listed = (await api('GET', `queues/${VHOST}`)) as Queue[];
      const byName = new Map(listed.map((q) => [q.name, q]));
      const now = Date.now() / 1000;

      for (const queue of [orders, ordersDlq, billing, billingDlq]) {
        const q = byName.get(queue)!;
        const labels = { messaging_system: 'rabbitmq', messaging_destination_name: queue };
        assert.equal(
          value(metrics, 'hoptrace_queue_messages', { ...labels, state: 'ready' }),
          q.messages_ready,
          `${queue} ready`,
        );
        assert.equal(
          value(metrics, 'hoptrace_queue_messages', { ...labels, state: 'unacked' }),
          q.messages_unacknowledged,
          `${queue} unacked`,
        );
        assert.equal(value(metrics, 'hoptrace_queue_consumers', labels), q.consumers, `${queue} consumers`);
        assert.equal(
          value(metrics, 'hoptrace_consumer_lag_messages', {
            ...labels,
            messaging_consumer_group_name: queue,
          }),
          q.messages_ready,
          `${queue} lag`,
        );
        const age = value(metrics, 'hoptrace_queue_oldest_message_age_seconds', labels);
        if (typeof q.head_message_timestamp === 'number') {
          assert.ok(
            age !== undefined && Math.abs(age - (now - q.head_message_timestamp)) < 5,
            `${queue} head age ${age}`,
          );
        } else {
          assert.equal(age, undefined, `${queue} has no head timestamp`);
        }
      }
      assert.equal(byName.get(orders)?.messages_ready, 2);
      assert.equal(byName.get(orders)?.messages_unacknowledged, 2);
      const ordersAge = value(metrics, 'hoptrace_queue_oldest_message_age_seconds', {
        messaging_destination_name: orders,
      });
      assert.ok(ordersAge !== undefined && ordersAge > 100, 'head message was stamped 2 minutes ago');

      assert.equal(
        value(metrics, 'hoptrace_dlq_messages', {
          messaging_destination_name: ordersDlq,
          dead_letter_source: orders,
        }),
        byName.get(ordersDlq)?.messages,
      );
      assert.equal(byName.get(ordersDlq)?.messages, 1, 'found through x-dead-letter-exchange + binding');
      assert.equal(
        value(metrics, 'hoptrace_dlq_messages', {
          messaging_destination_name: billingDlq,
          dead_letter_source: billing,
        }),
        1,
        'found through the policy',
      );
      assert.equal(
        value(metrics, 'hoptrace_dlq_messages', { messaging_destination_name: orders }),
        undefined,
      );
      assert.equal(value(metrics, 'hoptrace_collector_up', { source: 'rabbitmq' }), 1);
      assert.ok(
        (value(metrics, 'hoptrace_collector_last_success_timestamp_seconds', { source: 'rabbitmq' }) ?? 0) >
          now - 60,
      );
    } finally {
      await collector?.close();
    }
  });

  it('reports a failing monitor as down without stopping the collector', async (t) => {
    if (!(await requireServer(t, 'RabbitMQ management API', () => probe))) return;
    const collector = await startCollector({
      port: 0,
      rabbitmq: { managementUrl: MANAGEMENT.href, username: 'guest', password: 'wrong', intervalMs: 60_000 },
    });
    try {
      await collector.pollMonitors();
      const metrics = await (await fetch(`${collector.url}/metrics`)).text();
      assert.equal(value(metrics, 'hoptrace_collector_up', { source: 'rabbitmq' }), 0);
      assert.equal(
        value(metrics, 'hoptrace_collector_last_success_timestamp_seconds', { source: 'rabbitmq' }),
        undefined,
      );
      const ready = await fetch(`${collector.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(((await ready.json()) as { sources: unknown }).sources, { rabbitmq: 'down' });
    } finally {
      await collector.close();
    }
  });
});
