import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConsumeMessage } from 'amqplib';
import type { ConsumeInfo, PublishInfo, SettleInfo } from '../../../instrumentation/amqp/index.js';
import { metricValue, rabbit, spansNamed, unique, waitFor } from './helpers.js';

describe('hooks', () => {
  it('receive the AMQP call and message', async (t) => {
    const published: PublishInfo[] = [];
    const consumed: ConsumeInfo[] = [];
    const settled: SettleInfo[] = [];
    const fx = await rabbit(t, {
      hooks: {
        publishHook: (span, info) => {
          published.push(info);
          span.setAttribute('app.tenant', 'eu');
        },
        consumeHook: (_span, info) => consumed.push(info),
        settleHook: (_span, info) => settled.push(info),
      },
    });
    if (!fx) return;
    try {
      const queue = unique('hooks');
      const ch = await fx.conn.createChannel();
      await ch.assertQueue(queue, { autoDelete: true });
      await ch.consume(queue, (msg) => msg && ch.ack(msg));
      ch.sendToQueue(queue, Buffer.from('x'), { headers: { user: 'h' } });
      await waitFor(() => settled.length === 1, 'settle hook');
      assert.equal(published[0]?.destination, 'amq.default');
      assert.equal(published[0]?.message.routingKey, queue);
      assert.equal(published[0]?.message.exchange, '');
      assert.equal(published[0]?.headers.user, 'h');
      assert.equal(typeof published[0]?.headers.traceparent, 'string');
      assert.equal(consumed[0]?.destination, queue);
      assert.equal(consumed[0]?.message.content.toString(), 'x');
      assert.equal(consumed[0]?.correlationId, published[0]?.correlationId);
      assert.equal(settled[0]?.outcome, 'ack');
      assert.equal(spansNamed(fx.tracing.spans(), 'publish amq.default')[0]?.attributes['app.tenant'], 'eu');
    } finally {
      await fx.close();
    }
  });

  for (const hook of ['publishHook', 'consumeHook', 'settleHook'] as const) {
    it(`${hook} throwing does not affect the user flow`, async (t) => {
      let calls = 0;
      const fx = await rabbit(t, {
        hooks: {
          [hook]: () => {
            calls++;
            throw new Error(`${hook} broke`);
          },
        },
      });
      if (!fx) return;
      try {
        const queue = unique(hook);
        const ch = await fx.conn.createConfirmChannel();
        await ch.assertQueue(queue, { autoDelete: true });
        const handled: ConsumeMessage[] = [];
        await ch.consume(queue, (msg) => {
          if (!msg) return;
          handled.push(msg);
          ch.ack(msg);
        });
        assert.equal(ch.sendToQueue(queue, Buffer.from('still works')), true);
        await ch.waitForConfirms();
        await waitFor(() => spansNamed(fx.tracing.spans(), `process ${queue}`).length === 1, 'consumer span');
        assert.equal(calls, 1);
        assert.equal(handled.length, 1);
        assert.equal(handled[0]?.content.toString(), 'still works');
        assert.equal(typeof handled[0]?.properties.headers?.traceparent, 'string');
        assert.equal(
          spansNamed(fx.tracing.spans(), `process ${queue}`)[0]?.attributes['hoptrace.outcome'],
          'ack',
        );
        assert.equal(
          await metricValue(fx.registry, 'messaging_client_consumed_messages_total', {
            messaging_destination_name: queue,
            hoptrace_outcome: 'ack',
          }),
          1,
        );
        assert.equal(await metricValue(fx.registry, 'hoptrace_in_flight_messages'), 0);
      } finally {
        await fx.close();
      }
    });
  }

  it('bad options are warned about and replaced by defaults', async (t) => {
    const fx = await rabbit(t, {
      settleTimeoutMs: -5,
      deadLetterExchanges: 'nope' as unknown as Record<string, string>,
      hooks: { publishHook: 42 as unknown as () => void },
    });
    if (!fx) return;
    try {
      const queue = unique('bad-options');
      const ch = await fx.conn.createChannel();
      await ch.assertQueue(queue, { autoDelete: true });
      await ch.consume(queue, (msg) => msg && ch.ack(msg));
      ch.sendToQueue(queue, Buffer.from('x'));
      await waitFor(() => spansNamed(fx.tracing.spans(), `process ${queue}`).length === 1, 'consumer span');
    } finally {
      await fx.close();
    }
  });
});
