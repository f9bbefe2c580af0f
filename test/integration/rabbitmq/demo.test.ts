import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runRabbitDemo } from '../../../cli/demo/rabbitmq.js';
import { amqpUrl, metricValue, rabbit, unique } from './helpers.js';

describe('the RabbitMQ orders example (runRabbitDemo)', () => {
  it('traces every order as one flow, dead-letters the bouncing ones, and counts exactly', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    await fx.close();
    const prefix = unique('demo');
    const result = await runRabbitDemo({
      url: amqpUrl(),
      orders: 6,
      failEvery: 3,
      prefix,
      tracerProvider: fx.tracing.provider,
      registry: fx.registry,
    });
    t.after(async () => {
      // Leave nothing behind on the shared broker.
      const { default: amqplib } = await import('amqplib');
      const conn = await amqplib.connect(amqpUrl());
      const ch = await conn.createChannel();
      const tp = result.topology;
      for (const q of [tp.billing, tp.shipping, tp.inventory, tp.email, tp.emailDeadLetters])
        await ch.deleteQueue(q);
      for (const e of [tp.exchange, tp.deadLetterExchange]) await ch.deleteExchange(e);
      await conn.close();
    });

    assert.deepEqual(result.handled, { billing: 6, shipping: 6, inventory: 6, email: 6, 'dlq-audit': 2 });
    assert.deepEqual(
      [...result.deadLetters.values()].map((d) => [d.reason, d.source]),
      [
        ['rejected', result.topology.email],
        ['rejected', result.topology.email],
      ],
    );
    const spans = fx.tracing.spans();
    for (const [i, correlationId] of result.correlationIds.entries()) {
      const flow = spans.filter((s) => s.attributes['messaging.message.conversation_id'] === correlationId);
      const failing = (i + 1) % 3 === 0;
      assert.equal(
        flow.length,
        failing ? 7 : 6,
        `publish + 3 consumers + billing's payment publish and shipping (+ the DLQ) for ${correlationId}`,
      );
      assert.equal(new Set(flow.map((s) => s.spanContext().traceId)).size, 1, 'one trace per order');
      const services = flow.map((s) => s.attributes['hoptrace.service.name']).sort();
      assert.deepEqual(
        services,
        failing
          ? ['billing', 'billing', 'dlq-audit', 'email', 'inventory', 'shipping', 'storefront']
          : ['billing', 'billing', 'email', 'inventory', 'shipping', 'storefront'],
      );
      const email = flow.find((s) => s.name === `process ${result.topology.email}`);
      assert.equal(email?.attributes['hoptrace.outcome'], failing ? 'dead_letter' : 'ack');
    }
    assert.equal(
      await metricValue(fx.registry, 'hoptrace_dead_lettered_messages_total', {
        messaging_destination_name: result.topology.emailDeadLetters,
        reason: 'rejected',
      }),
      2,
    );
    assert.equal(
      await metricValue(fx.registry, 'messaging_client_sent_messages_total'),
      12,
      'orders + payments',
    );
    assert.equal(await metricValue(fx.registry, 'messaging_client_consumed_messages_total'), 26);
    assert.equal(await metricValue(fx.registry, 'hoptrace_in_flight_messages'), 0);
  });
});
