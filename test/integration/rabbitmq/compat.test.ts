import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import type { ConsumeMessage } from 'amqplib';
import { instrumentAmqp } from '../../../instrumentation/amqp/index.js';
import { AMQPLIB_MODULES, amqplibVersion, loadAmqplib, loadCallbackApi } from './amqplib-versions.js';
import { amqpUrl, metricValue, rabbit, spansNamed, unique, waitFor } from './helpers.js';

/** Each supported amqplib major, promise and callback API: the same core scenario, the same results. */
for (const moduleName of AMQPLIB_MODULES) {
  describe(`amqplib ${amqplibVersion(moduleName)}`, () => {
    it('promise API: confirms, consume, ack, reject into a DLQ, get; classes unchanged', async (t) => {
      const fx = await rabbit(t);
      if (!fx) return;
      const raw = await loadAmqplib(moduleName).connect(amqpUrl());
      const conn = instrumentAmqp(raw, { tracerProvider: fx.tracing.provider, registry: fx.registry });
      try {
        const exchange = unique('compat');
        const dlx = unique('compat-dlx');
        const queue = unique('compat-q');
        const dlq = unique('compat-dlq');
        const ch = await conn.createChannel();
        const rawChannel = await raw.createChannel();
        assert.equal(Object.getPrototypeOf(ch), Object.getPrototypeOf(rawChannel));
        await ch.assertExchange(exchange, 'topic', { autoDelete: true });
        await ch.assertExchange(dlx, 'fanout', { autoDelete: true });
        await ch.assertQueue(dlq, { autoDelete: true });
        await ch.bindQueue(dlq, dlx, '');
        await ch.assertQueue(queue, { autoDelete: true, deadLetterExchange: dlx });
        await ch.bindQueue(queue, exchange, 'order.*');

        await ch.consume(queue, (msg) => {
          if (!msg) return;
          if (msg.content.toString() === 'good') ch.ack(msg);
          else ch.reject(msg, false);
        });
        const dead: ConsumeMessage[] = [];
        await ch.consume(dlq, (msg) => {
          if (!msg) return;
          dead.push(msg);
          ch.ack(msg);
        });

        const confirm = await conn.createConfirmChannel();
        confirm.publish(exchange, 'order.placed', Buffer.from('good'));
        confirm.publish(exchange, 'order.placed', Buffer.from('bad'));
        await confirm.waitForConfirms();
        await waitFor(() => dead.length === 1, 'the dead letter');
        await waitFor(
          () => fx.tracing.spans().filter((s) => s.kind === SpanKind.CONSUMER).length === 3,
          'spans',
        );

        const pull = unique('compat-pull');
        await ch.assertQueue(pull, { autoDelete: true });
        confirm.sendToQueue(pull, Buffer.from('pull'));
        await confirm.waitForConfirms();
        const got = await ch.get(pull);
        assert.ok(got);
        ch.ack(got);

        const spans = fx.tracing.spans();
        const producers = spansNamed(spans, `publish ${exchange}`);
        assert.equal(producers.length, 2);
        const outcomes = spansNamed(spans, `process ${queue}`)
          .map((s) => s.attributes['hoptrace.outcome'])
          .sort();
        assert.deepEqual(outcomes, ['ack', 'dead_letter']);
        const [dlqSpan] = spansNamed(spans, `process ${dlq}`);
        assert.equal(dlqSpan?.attributes['hoptrace.dead_letter.reason'], 'rejected');
        assert.equal(dlqSpan?.attributes['hoptrace.dead_letter.source'], queue);
        const badProducer = producers.find(
          (p) => p.attributes['messaging.message.id'] === dead[0]?.properties.messageId,
        );
        assert.equal(dlqSpan?.parentSpanContext?.spanId, badProducer?.spanContext().spanId);
        assert.equal(spansNamed(spans, `receive ${pull}`)[0]?.attributes['hoptrace.outcome'], 'ack');

        assert.equal(
          await metricValue(fx.registry, 'hoptrace_dead_lettered_messages_total', { reason: 'rejected' }),
          1,
        );
        assert.equal(
          await metricValue(fx.registry, 'messaging_client_operation_duration_seconds', {
            messaging_destination_name: exchange,
            messaging_operation_name: 'confirm',
          }),
          2,
        );
        assert.equal(await metricValue(fx.registry, 'messaging_client_consumed_messages_total'), 4);
        assert.equal(await metricValue(fx.registry, 'hoptrace_in_flight_messages'), 0);
      } finally {
        await raw.close().catch(() => undefined);
        await fx.close();
      }
    });

    it('callback API: channels from the connection are traced end to end', async (t) => {
      const fx = await rabbit(t);
      if (!fx) return;
      const api = loadCallbackApi(moduleName);
      const call = <T>(fn: (cb: (err: unknown, value: T) => void) => unknown) =>
        new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
      // biome-ignore lint/suspicious/noExplicitAny: the callback API's typings differ between versions.
      const raw: any = await call((cb) => api.connect(amqpUrl(), cb));
      const conn = instrumentAmqp(raw, { tracerProvider: fx.tracing.provider, registry: fx.registry });
      try {
        // biome-ignore lint/suspicious/noExplicitAny: see above
        let returned: any;
        // biome-ignore lint/suspicious/noExplicitAny: see above
        const ch: any = await call((cb) => {
          returned = conn.createChannel(cb);
        });
        assert.equal(returned, ch, 'the returned channel is the one the callback gets');
        const queue = unique('callback');
        await call((cb) => ch.assertQueue(queue, { autoDelete: true }, cb));
        const handled: unknown[] = [];
        await call((cb) =>
          ch.consume(
            queue,
            (msg: ConsumeMessage | null) => {
              if (!msg) return;
              handled.push(msg);
              assert.equal(ch.ack(msg), ch, 'chaining returns the instrumented channel');
            },
            {},
            cb,
          ),
        );
        ch.sendToQueue(queue, Buffer.from('cb'));
        await waitFor(() => spansNamed(fx.tracing.spans(), `process ${queue}`).length === 1, 'consumer span');
        const pull = unique('callback-pull');
        await call((cb) => ch.assertQueue(pull, { autoDelete: true }, cb));
        ch.sendToQueue(pull, Buffer.from('pull'));
        let got: ConsumeMessage | false = false;
        await waitFor(async () => {
          got = await call((cb) => ch.get(pull, {}, cb));
          return got !== false;
        }, 'a pulled message');
        ch.ack(got);

        const [consumer] = spansNamed(fx.tracing.spans(), `process ${queue}`);
        const producer = spansNamed(fx.tracing.spans(), 'publish amq.default').find(
          (s) => s.attributes['messaging.rabbitmq.destination.routing_key'] === queue,
        );
        assert.equal(consumer?.parentSpanContext?.spanId, producer?.spanContext().spanId);
        assert.equal(consumer?.attributes['hoptrace.outcome'], 'ack');
        assert.equal(
          spansNamed(fx.tracing.spans(), `receive ${pull}`)[0]?.attributes['hoptrace.outcome'],
          'ack',
        );
        assert.equal(handled.length, 1);
      } finally {
        await call((cb) => raw.close(cb)).catch(() => undefined);
        await fx.close();
      }
    });
  });
}
