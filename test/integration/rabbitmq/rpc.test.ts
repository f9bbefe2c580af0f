/**
 * The RPC pattern on the real broker: per-call exclusive reply queues and direct reply-to keep span names
 * and metric labels bounded (one placeholder), and the application's own `correlationId` becomes the
 * flow's correlation ID, so request and reply are one flow.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import type { Channel, ConsumeMessage } from 'amqplib';
import { instrumentAmqp } from '../../../instrumentation/amqp/index.js';
import { currentCorrelationId } from '../../../instrumentation/core/correlation.js';
import type { MetricsRegistry } from '../../../instrumentation/core/metrics.js';
import {
  ATTR_MESSAGING_DESTINATION_ANONYMOUS,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_TEMPORARY,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  HEADER_CORRELATION_ID,
  LABEL_DESTINATION,
} from '../../../instrumentation/core/semconv.js';
import { type RabbitFixture, rabbit, unique, waitFor } from './helpers.js';

/** Distinct series in the registry (histogram buckets of one series count once), and the destination labels. */
async function seriesOf(registry: MetricsRegistry): Promise<{ count: number; destinations: Set<string> }> {
  const keys = new Set<string>();
  const destinations = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const value of metric.values) {
      const { le: _le, ...labels } = value.labels as Record<string, unknown>;
      keys.add(`${metric.name}${JSON.stringify(labels)}`);
      const destination = labels[LABEL_DESTINATION];
      if (typeof destination === 'string') destinations.add(destination);
    }
  }
  return { count: keys.size, destinations };
}

/** The tutorial's RPC server: replies to `replyTo` with the request's `correlationId`, then acks. */
async function startServer(ch: Channel, queue: string, seen: (msg: ConsumeMessage) => void): Promise<void> {
  await ch.assertQueue(queue, { durable: false });
  await ch.consume(queue, (msg) => {
    if (!msg) return;
    seen(msg);
    const n = Number(msg.content.toString());
    ch.sendToQueue(msg.properties.replyTo, Buffer.from(String(n * 2)), {
      correlationId: msg.properties.correlationId,
    });
    ch.ack(msg);
  });
}

/** One call of the tutorial's RPC client, with a fresh exclusive server-named reply queue. */
async function callWithFreshQueue(ch: Channel, queue: string, n: number): Promise<string> {
  const { queue: replyTo } = await ch.assertQueue('', { exclusive: true });
  const correlationId = randomUUID();
  const reply = new Promise<string>((resolve) => {
    void ch.consume(
      replyTo,
      (msg) => {
        if (msg?.properties.correlationId === correlationId) resolve(msg.content.toString());
      },
      { noAck: true },
    );
  });
  ch.sendToQueue(queue, Buffer.from(String(n)), { correlationId, replyTo });
  const answer = await reply;
  await ch.deleteQueue(replyTo);
  return answer;
}

async function rpcFixture(t: import('node:test').TestContext) {
  const fx = await rabbit(t);
  if (!fx) return undefined;
  const server = await fx.conn.createChannel();
  const client = await fx.conn.createChannel();
  const queue = unique('rpc');
  const requests: { correlationId: string | undefined; property: unknown }[] = [];
  await startServer(server, queue, (msg) =>
    requests.push({ correlationId: currentCorrelationId(), property: msg.properties.correlationId }),
  );
  return { fx, client, queue, requests };
}

describe('RPC on RabbitMQ', () => {
  it('50 calls with fresh exclusive reply queues: one placeholder, a series count that does not grow', async (t) => {
    const rpc = await rpcFixture(t);
    if (!rpc) return;
    const { fx, client, queue, requests } = rpc;
    try {
      for (let i = 0; i < 10; i++) assert.equal(await callWithFreshQueue(client, queue, i), String(i * 2));
      const after10 = await seriesOf(fx.registry);
      for (let i = 10; i < 50; i++) assert.equal(await callWithFreshQueue(client, queue, i), String(i * 2));
      await waitFor(() => consumerSpans(fx).length === 100, '100 consumer spans');
      const after50 = await seriesOf(fx.registry);

      assert.equal(after50.count, after10.count, 'the series count does not grow with the calls');
      t.diagnostic(`series after 10 calls: ${after10.count}, after 50: ${after50.count}`);
      assert.deepEqual([...after50.destinations].sort(), ['(temporary)', 'amq.default', queue].sort());

      const replies = consumerSpans(fx).filter((s) => s.name !== `process ${queue}`);
      assert.equal(replies.length, 50);
      assert.deepEqual([...new Set(replies.map((s) => s.name))], ['process (temporary)']);
      const realNames = new Set(replies.map((s) => s.attributes[ATTR_MESSAGING_DESTINATION_NAME]));
      assert.equal(realNames.size, 50, 'each reply span keeps its real queue name');
      for (const span of replies) {
        assert.match(String(span.attributes[ATTR_MESSAGING_DESTINATION_NAME]), /^amq\.gen-/);
        assert.equal(span.attributes[ATTR_MESSAGING_DESTINATION_TEMPORARY], true);
        assert.equal(span.attributes[ATTR_MESSAGING_DESTINATION_ANONYMOUS], true);
      }

      // The application's correlationId is the flow's: request handled and reply consumed under it.
      assert.equal(requests.length, 50);
      for (const r of requests) assert.equal(r.correlationId, r.property);
      for (const span of replies) {
        const id = span.attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID];
        assert.ok(requests.some((r) => r.property === id));
      }
    } finally {
      await fx.close();
    }
  });

  it('direct reply-to: the pseudo-queue is temporary, and the call is one flow', async (t) => {
    const rpc = await rpcFixture(t);
    if (!rpc) return;
    const { fx, client, queue, requests } = rpc;
    try {
      const replies = new Map<string, { body: string; flow: string | undefined }>();
      await client.consume(
        'amq.rabbitmq.reply-to',
        (msg) => {
          if (msg)
            replies.set(msg.properties.correlationId, {
              body: msg.content.toString(),
              flow: currentCorrelationId(),
            });
        },
        { noAck: true },
      );
      const ids = ['call-1', 'call-2', 'call-3'];
      for (const [i, id] of ids.entries())
        client.sendToQueue(queue, Buffer.from(String(i)), {
          correlationId: id,
          replyTo: 'amq.rabbitmq.reply-to',
        });
      await waitFor(() => replies.size === 3, 'three replies');
      for (const [i, id] of ids.entries())
        assert.deepEqual(replies.get(id), { body: String(i * 2), flow: id });
      assert.deepEqual(
        requests.map((r) => r.correlationId),
        ids,
      );
      await waitFor(() => consumerSpans(fx).length === 6, 'six consumer spans');
      const replySpans = consumerSpans(fx).filter((s) => s.name === 'process (temporary)');
      assert.equal(replySpans.length, 3);
      for (const span of replySpans) {
        assert.equal(span.attributes[ATTR_MESSAGING_DESTINATION_NAME], 'amq.rabbitmq.reply-to');
        assert.equal(span.attributes[ATTR_MESSAGING_DESTINATION_TEMPORARY], true);
      }
      const { destinations } = await seriesOf(fx.registry);
      assert.deepEqual([...destinations].sort(), ['(temporary)', 'amq.default', queue].sort());
    } finally {
      await fx.close();
    }
  });
});

describe("the application's own correlation ID", () => {
  it("a message sent with correlationId 'app-corr-77' and no active correlation is handled under it", async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const ch = await fx.conn.createChannel();
      const queue = unique('app-corr');
      await ch.assertQueue(queue, { durable: false });
      const handled: { flow: string | undefined; header: unknown }[] = [];
      await ch.consume(queue, (msg) => {
        if (!msg) return;
        handled.push({
          flow: currentCorrelationId(),
          header: msg.properties.headers?.[HEADER_CORRELATION_ID],
        });
        ch.ack(msg);
      });
      assert.equal(currentCorrelationId(), undefined);
      ch.sendToQueue(queue, Buffer.from('x'), { correlationId: 'app-corr-77' });
      // A producer without hoptrace: only the property says it.
      fx.admin.sendToQueue(queue, Buffer.from('y'), { correlationId: 'app-corr-78' });
      await waitFor(() => handled.length === 2, 'two deliveries');
      // Two channels: either may arrive first.
      handled.sort((a, b) => String(a.flow).localeCompare(String(b.flow)));
      assert.deepEqual(handled, [
        { flow: 'app-corr-77', header: 'app-corr-77' },
        { flow: 'app-corr-78', header: undefined },
      ]);
      await waitFor(() => consumerSpans(fx).length === 2, 'two consumer spans');
      const producer = fx.tracing.spans().find((s) => s.kind === SpanKind.PRODUCER);
      assert.equal(producer?.attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID], 'app-corr-77');
      assert.deepEqual(
        consumerSpans(fx)
          .map((s) => s.attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID])
          .sort(),
        ['app-corr-77', 'app-corr-78'],
      );
    } finally {
      await fx.close();
    }
  });

  it('the context and hoptrace header win over it, and applicationCorrelationId: false turns it off', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const off = instrumentAmqp(await fx.raw.createChannel(), {
        tracerProvider: fx.tracing.provider,
        registry: fx.registry,
        applicationCorrelationId: false,
      });
      const ch = await fx.conn.createChannel();
      const queue = unique('app-corr-off');
      await ch.assertQueue(queue, { durable: false });
      // By body: the third message comes from another channel, so it may overtake the second.
      const flows: Record<string, string | undefined> = {};
      await ch.consume(queue, (msg) => {
        if (!msg) return;
        flows[msg.content.toString()] = currentCorrelationId();
        ch.ack(msg);
      });
      const { withCorrelationId } = await import('../../../instrumentation/core/correlation.js');
      withCorrelationId('ctx-1', () => ch.sendToQueue(queue, Buffer.from('1'), { correlationId: 'app-1' }));
      ch.sendToQueue(queue, Buffer.from('2'), {
        correlationId: 'app-2',
        headers: { [HEADER_CORRELATION_ID]: 'hdr-2' },
      });
      off.sendToQueue(queue, Buffer.from('3'), { correlationId: 'app-3' });
      await waitFor(() => Object.keys(flows).length === 3, 'three deliveries');
      assert.equal(flows['1'], 'ctx-1');
      assert.equal(flows['2'], 'hdr-2');
      assert.match(String(flows['3']), /^[0-9a-f-]{36}$/);
    } finally {
      await fx.close();
    }
  });
});

function consumerSpans(fx: RabbitFixture) {
  return fx.tracing.spans().filter((s) => s.kind === SpanKind.CONSUMER);
}
