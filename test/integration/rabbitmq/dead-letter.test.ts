import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Channel, ConsumeMessage } from 'amqplib';
import { metricValue, type RabbitFixture, rabbit, spansNamed, unique, waitFor } from './helpers.js';

interface DeadLetterSetup {
  exchange: string;
  queue: string;
  dlq: string;
}

/** A direct exchange -> queue whose dead-letter exchange routes to a DLQ. */
async function declare(ch: Channel, queueOptions: Record<string, unknown>) {
  const exchange = unique('orders');
  const dlx = unique('dlx');
  const queue = unique('orders-q');
  const dlq = unique('orders-dlq');
  await ch.assertExchange(exchange, 'direct', { autoDelete: true });
  await ch.assertExchange(dlx, 'fanout', { autoDelete: true });
  await ch.assertQueue(dlq, { autoDelete: true });
  await ch.bindQueue(dlq, dlx, '');
  // Declared on the instrumented channel: that is how hoptrace learns the dead-letter exchange.
  await ch.assertQueue(queue, { autoDelete: true, deadLetterExchange: dlx, ...queueOptions });
  await ch.bindQueue(queue, exchange, 'placed');
  return { exchange, queue, dlq } satisfies DeadLetterSetup;
}

/** Consumes the DLQ: the first delivery is requeued once, the redelivery acked. */
async function consumeDeadLetters(ch: Channel, dlq: string, expected: number) {
  const seen: ConsumeMessage[] = [];
  const requeued = new Set<string>();
  await ch.consume(dlq, (msg) => {
    if (!msg) return;
    seen.push(msg);
    const id = String(msg.properties.messageId);
    if (!requeued.has(id)) {
      requeued.add(id);
      ch.nack(msg, false, true);
    } else ch.ack(msg);
  });
  await waitFor(() => seen.length === expected * 2, `${expected * 2} DLQ deliveries`);
  return seen;
}

function assertInOriginalTrace(
  producer: ReadableSpan,
  dlqSpans: ReadableSpan[],
  reason: string,
  source: string,
) {
  for (const span of dlqSpans) {
    assert.equal(
      span.spanContext().traceId,
      producer.spanContext().traceId,
      'DLQ span in the original trace',
    );
    assert.equal(span.parentSpanContext?.spanId, producer.spanContext().spanId, 'parented on the publish');
    assert.equal(span.attributes['hoptrace.dead_letter.reason'], reason);
    assert.equal(span.attributes['hoptrace.dead_letter.source'], source);
    assert.equal(
      span.attributes['messaging.message.conversation_id'],
      producer.attributes['messaging.message.conversation_id'],
    );
  }
}

async function assertCounts(fx: RabbitFixture, setup: DeadLetterSetup, reason: string, events: number) {
  const dlqLabels = { messaging_destination_name: setup.dlq };
  assert.equal(
    await metricValue(fx.registry, 'hoptrace_dead_lettered_messages_total', { ...dlqLabels, reason }),
    events,
  );
  assert.equal(
    await metricValue(fx.registry, 'hoptrace_dead_lettered_messages_total'),
    events,
    'no other reasons',
  );
  // Each DLQ message was delivered twice: the second is a redelivery, counted as such, not as a new event.
  assert.equal(await metricValue(fx.registry, 'hoptrace_redeliveries_total', dlqLabels), events);
  assert.equal(
    await metricValue(fx.registry, 'messaging_client_consumed_messages_total', {
      ...dlqLabels,
      hoptrace_outcome: 'ack',
    }),
    events,
  );
  assert.equal(
    await metricValue(fx.registry, 'messaging_client_consumed_messages_total', {
      ...dlqLabels,
      hoptrace_outcome: 'requeue',
    }),
    events,
  );
  assert.equal(await metricValue(fx.registry, 'hoptrace_in_flight_messages'), 0);
}

describe('dead-lettering through a real RabbitMQ', () => {
  it('reject(requeue=false) -> DLX -> DLQ: outcome dead_letter, reason rejected, counted once', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const ch = await fx.conn.createChannel();
      const setup = await declare(ch, {});
      await ch.consume(setup.queue, (msg) => msg && ch.reject(msg, false));
      ch.publish(setup.exchange, 'placed', Buffer.from('bad order'), { headers: { tenant: 'eu' } });
      const seen = await consumeDeadLetters(ch, setup.dlq, 1);

      await waitFor(() => spansNamed(fx.tracing.spans(), `process ${setup.dlq}`).length === 2, 'DLQ spans');
      const spans = fx.tracing.spans();
      const [producer] = spansNamed(spans, `publish ${setup.exchange}`);
      const [rejected] = spansNamed(spans, `process ${setup.queue}`);
      assert.ok(producer && rejected);
      assert.equal(rejected.attributes['hoptrace.outcome'], 'dead_letter');
      assert.equal(rejected.attributes['hoptrace.dead_letter.reason'], 'rejected');
      const dlqSpans = spansNamed(spans, `process ${setup.dlq}`);
      assertInOriginalTrace(producer, dlqSpans, 'rejected', setup.queue);
      assert.deepEqual(
        dlqSpans.map((s) => s.attributes['hoptrace.delivery.attempt']),
        [1, 2],
      );
      // Headers survive dead-lettering: the user's and hoptrace's.
      assert.equal(seen[0]?.properties.headers?.tenant, 'eu');
      assert.equal(seen[0]?.properties.headers?.traceparent, seen[1]?.properties.headers?.traceparent);

      await assertCounts(fx, setup, 'rejected', 1);
      assert.equal(
        await metricValue(fx.registry, 'messaging_client_consumed_messages_total', {
          messaging_destination_name: setup.queue,
          hoptrace_outcome: 'dead_letter',
        }),
        1,
      );
    } finally {
      await fx.close();
    }
  });

  it('TTL expiry -> DLQ: reason expired, counted once, in the original trace', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const ch = await fx.conn.createChannel();
      const setup = await declare(ch, { messageTtl: 20 });
      ch.publish(setup.exchange, 'placed', Buffer.from('slow'));
      await consumeDeadLetters(ch, setup.dlq, 1);
      await waitFor(() => spansNamed(fx.tracing.spans(), `process ${setup.dlq}`).length === 2, 'DLQ spans');
      const spans = fx.tracing.spans();
      const [producer] = spansNamed(spans, `publish ${setup.exchange}`);
      assert.ok(producer);
      assertInOriginalTrace(producer, spansNamed(spans, `process ${setup.dlq}`), 'expired', setup.queue);
      await assertCounts(fx, setup, 'expired', 1);
    } finally {
      await fx.close();
    }
  });

  it('max-length overflow -> DLQ: reason maxlen, counted once per dropped message', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const ch = await fx.conn.createConfirmChannel();
      const setup = await declare(ch, { maxLength: 1 });
      // Three publishes into a queue that holds one: the two oldest are dead-lettered (drop-head).
      for (const body of ['first', 'second', 'third'])
        ch.publish(setup.exchange, 'placed', Buffer.from(body));
      await ch.waitForConfirms();
      const seen = await consumeDeadLetters(ch, setup.dlq, 2);
      assert.deepEqual([...new Set(seen.map((m) => m.content.toString()))].sort(), ['first', 'second']);
      await waitFor(() => spansNamed(fx.tracing.spans(), `process ${setup.dlq}`).length === 4, 'DLQ spans');
      const spans = fx.tracing.spans();
      for (const body of ['first', 'second']) {
        const messageId = seen.find((m) => m.content.toString() === body)?.properties.messageId;
        const producer = spansNamed(spans, `publish ${setup.exchange}`).find(
          (s) => s.attributes['messaging.message.id'] === messageId,
        );
        assert.ok(producer, `producer span of ${body}`);
        const dlqSpans = spansNamed(spans, `process ${setup.dlq}`).filter(
          (s) => s.attributes['messaging.message.id'] === messageId,
        );
        assert.equal(dlqSpans.length, 2);
        assertInOriginalTrace(producer, dlqSpans, 'maxlen', setup.queue);
      }
      await assertCounts(fx, setup, 'maxlen', 2);
    } finally {
      await fx.close();
    }
  });
  it('quorum queue: x-delivery-count gives the attempt; past the delivery limit -> reason delivery_limit', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const ch = await fx.conn.createChannel();
      const dlx = unique('q-dlx');
      const dlq = unique('q-dlq');
      const queue = unique('quorum');
      await ch.assertExchange(dlx, 'fanout', { autoDelete: true });
      await ch.assertQueue(dlq, { autoDelete: true });
      await ch.bindQueue(dlq, dlx, '');
      await ch.assertQueue(queue, {
        durable: true,
        deadLetterExchange: dlx,
        arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 1 },
      });
      // Always requeue: the second failure exceeds the limit and RabbitMQ dead-letters the message.
      await ch.consume(queue, (msg) => msg && ch.nack(msg, false, true));
      const dead: ConsumeMessage[] = [];
      await ch.consume(dlq, (msg) => {
        if (!msg) return;
        dead.push(msg);
        ch.ack(msg);
      });
      ch.sendToQueue(queue, Buffer.from('poison'));
      await waitFor(() => dead.length === 1, 'the dead letter');
      await waitFor(() => spansNamed(fx.tracing.spans(), `process ${dlq}`).length === 1, 'DLQ span');

      const spans = fx.tracing.spans();
      const attempts = spansNamed(spans, `process ${queue}`).map(
        (s) => s.attributes['hoptrace.delivery.attempt'],
      );
      assert.deepEqual(attempts, [1, 2]);
      assert.equal(
        await metricValue(fx.registry, 'hoptrace_redeliveries_total', { messaging_destination_name: queue }),
        1,
      );
      const [producer] = spansNamed(spans, 'publish amq.default');
      assert.ok(producer);
      assertInOriginalTrace(producer, spansNamed(spans, `process ${dlq}`), 'delivery_limit', queue);
      assert.equal(
        await metricValue(fx.registry, 'hoptrace_dead_lettered_messages_total', { reason: 'delivery_limit' }),
        1,
      );
    } finally {
      await fx.close();
    }
  });
});
