import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { ConsumeMessage, GetMessage, Message } from 'amqplib';
import { instrumentAmqp } from '../../../instrumentation/amqp/index.js';
import { amqpUrl, delay, metricValue, rabbit, spansNamed, unique, waitFor } from './helpers.js';

describe('consuming on a real RabbitMQ', () => {
  it('abandons unsettled deliveries when their channel closes; the redeliveries count as such', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const queue = unique('redeliver');
      await fx.admin.assertQueue(queue, { autoDelete: false });
      const producer = await fx.conn.createChannel();
      for (const body of ['a', 'b']) producer.sendToQueue(queue, Buffer.from(body));

      const first = await fx.conn.createChannel();
      const unacked: ConsumeMessage[] = [];
      await first.consume(queue, (msg) => msg && unacked.push(msg));
      await waitFor(() => unacked.length === 2, 'two deliveries');
      const labels = { messaging_destination_name: queue };
      assert.equal(await metricValue(fx.registry, 'hoptrace_in_flight_messages', labels), 2);
      await first.close();

      assert.equal(await metricValue(fx.registry, 'hoptrace_in_flight_messages', labels), 0);
      const abandoned = spansNamed(fx.tracing.spans(), `process ${queue}`);
      assert.equal(abandoned.length, 2);
      for (const span of abandoned) {
        assert.equal(span.attributes['hoptrace.unsettled'], true);
        assert.equal(span.attributes['hoptrace.outcome'], undefined);
        assert.notEqual(span.status.code, SpanStatusCode.ERROR);
        assert.ok(span.events.some((e) => e.name === 'hoptrace.abandoned'));
      }

      const second = await fx.conn.createChannel();
      const redelivered: ConsumeMessage[] = [];
      await second.consume(queue, (msg) => {
        if (!msg) return;
        redelivered.push(msg);
        second.ack(msg);
      });
      await waitFor(() => redelivered.length === 2, 'two redeliveries');
      await waitFor(() => spansNamed(fx.tracing.spans(), `process ${queue}`).length === 4, 'spans');
      assert.ok(redelivered.every((m) => m.fields.redelivered));
      const retried = spansNamed(fx.tracing.spans(), `process ${queue}`).slice(2);
      assert.deepEqual(
        retried.map((s) => [s.attributes['hoptrace.delivery.attempt'], s.attributes['hoptrace.outcome']]),
        [
          [2, 'ack'],
          [2, 'ack'],
        ],
      );
      assert.equal(await metricValue(fx.registry, 'hoptrace_redeliveries_total', labels), 2);
      assert.equal(await metricValue(fx.registry, 'messaging_client_consumed_messages_total', labels), 2);
      assert.equal(await metricValue(fx.registry, 'hoptrace_in_flight_messages', labels), 0);
    } finally {
      await fx.close();
    }
  });

  it('settles by delivery tag: ack allUpTo, nackAll, reject without a dead-letter exchange', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const queue = unique('settle');
      const ch = await fx.conn.createChannel();
      await ch.assertQueue(queue, { autoDelete: true });
      const got: ConsumeMessage[] = [];
      await ch.consume(queue, (msg) => msg && got.push(msg));
      for (let i = 0; i < 6; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
      await waitFor(() => got.length === 6, 'six deliveries');

      ch.ack(got[2]!, true); // 0, 1, 2
      ch.reject(got[3]!, false); // no dead-letter exchange: dropped
      ch.nackAll(false); // 4, 5
      await waitFor(() => spansNamed(fx.tracing.spans(), `process ${queue}`).length === 6, 'six spans');
      const outcomes = spansNamed(fx.tracing.spans(), `process ${queue}`)
        .sort(
          (a, b) =>
            Number(a.attributes['messaging.rabbitmq.message.delivery_tag']) -
            Number(b.attributes['messaging.rabbitmq.message.delivery_tag']),
        )
        .map((s) => s.attributes['hoptrace.outcome']);
      assert.deepEqual(outcomes, ['ack', 'ack', 'ack', 'reject', 'reject', 'reject']);
      const labels = { messaging_destination_name: queue };
      assert.equal(
        await metricValue(fx.registry, 'messaging_client_consumed_messages_total', {
          ...labels,
          hoptrace_outcome: 'ack',
        }),
        3,
      );
      assert.equal(
        await metricValue(fx.registry, 'messaging_client_consumed_messages_total', {
          ...labels,
          hoptrace_outcome: 'reject',
        }),
        3,
      );
      assert.equal(await metricValue(fx.registry, 'hoptrace_in_flight_messages', labels), 0);
    } finally {
      await fx.close();
    }
  });

  it('recover() requeues every unacked delivery: outcome requeue, then redelivered', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const queue = unique('recover');
      const ch = await fx.conn.createChannel();
      await ch.assertQueue(queue, { autoDelete: true });
      const got: ConsumeMessage[] = [];
      await ch.consume(queue, (msg) => {
        if (!msg) return;
        got.push(msg);
        if (msg.fields.redelivered) ch.ack(msg);
      });
      ch.sendToQueue(queue, Buffer.from('1'));
      ch.sendToQueue(queue, Buffer.from('2'));
      await waitFor(() => got.length === 2, 'two deliveries');
      await ch.recover();
      await waitFor(() => got.length === 4, 'two redeliveries');
      await waitFor(() => spansNamed(fx.tracing.spans(), `process ${queue}`).length === 4, 'four spans');
      const byTag = (s: ReadableSpan) => Number(s.attributes['messaging.rabbitmq.message.delivery_tag']);
      const spans = spansNamed(fx.tracing.spans(), `process ${queue}`).sort((a, b) => byTag(a) - byTag(b));
      const outcomes = spans.map((s) => [
        s.attributes['hoptrace.delivery.attempt'],
        s.attributes['hoptrace.outcome'],
      ]);
      assert.deepEqual(outcomes, [
        [1, 'requeue'],
        [1, 'requeue'],
        [2, 'ack'],
        [2, 'ack'],
      ]);
      assert.equal(await metricValue(fx.registry, 'hoptrace_in_flight_messages'), 0);
    } finally {
      await fx.close();
    }
  });

  it('awaits an async handler for the span and settles noAck deliveries as ack when it finishes', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const queue = unique('noack');
      const ch = await fx.conn.createChannel();
      await ch.assertQueue(queue, { autoDelete: true });
      let done = 0;
      await ch.consume(
        queue,
        async () => {
          await delay(60);
          done++;
        },
        { noAck: true },
      );
      ch.sendToQueue(queue, Buffer.from('x'));
      await waitFor(() => spansNamed(fx.tracing.spans(), `process ${queue}`).length === 1, 'span');
      assert.equal(done, 1);
      const [span] = spansNamed(fx.tracing.spans(), `process ${queue}`);
      const ms =
        (span!.endTime[0] - span!.startTime[0]) * 1000 + (span!.endTime[1] - span!.startTime[1]) / 1e6;
      assert.ok(ms >= 55, `span lasted ${ms} ms, the handler 60 ms`);
      assert.equal(span!.attributes['hoptrace.outcome'], 'ack');
      assert.equal(
        await metricValue(fx.registry, 'messaging_client_consumed_messages_total', {
          messaging_destination_name: queue,
          hoptrace_outcome: 'ack',
        }),
        1,
      );
    } finally {
      await fx.close();
    }
  });

  it('passes the null of a broker-side consumer cancel to the handler untouched', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const queue = unique('cancel');
      const ch = await fx.conn.createChannel();
      await ch.assertQueue(queue, { autoDelete: false });
      const seen: unknown[] = [];
      await ch.consume(queue, (msg) => seen.push(msg));
      await fx.admin.deleteQueue(queue);
      await waitFor(() => seen.length === 1, 'cancel notification');
      assert.deepEqual(seen, [null]);
      assert.equal(fx.tracing.spans().filter((s) => s.kind === SpanKind.CONSUMER).length, 0);
    } finally {
      await fx.close();
    }
  });

  it('traces get(): span receive <queue>, ended at the ack; false passes through', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const queue = unique('get');
      const ch = await fx.conn.createChannel();
      await ch.assertQueue(queue, { autoDelete: true });
      assert.equal(await ch.get(queue), false);
      ch.sendToQueue(queue, Buffer.from('pull me'));
      ch.sendToQueue(queue, Buffer.from('and me'));
      const msg = await waitForGet(ch, queue);
      assert.equal(spansNamed(fx.tracing.spans(), `receive ${queue}`).length, 0, 'open until settled');
      await delay(20);
      ch.ack(msg);
      const [span] = spansNamed(fx.tracing.spans(), `receive ${queue}`);
      assert.ok(span);
      assert.equal(span.kind, SpanKind.CONSUMER);
      assert.equal(span.attributes['messaging.operation.type'], 'receive');
      assert.equal(span.attributes['hoptrace.outcome'], 'ack');
      const [producer] = spansNamed(fx.tracing.spans(), 'publish amq.default');
      assert.equal(span.parentSpanContext?.spanId, producer?.spanContext().spanId);

      const auto = await ch.get(queue, { noAck: true });
      assert.ok(auto);
      assert.equal(auto.content.toString(), 'and me');
      assert.equal(spansNamed(fx.tracing.spans(), `receive ${queue}`).length, 2, 'noAck get ends at once');
      assert.equal(
        await metricValue(fx.registry, 'messaging_client_consumed_messages_total', {
          messaging_destination_name: queue,
        }),
        2,
      );
    } finally {
      await fx.close();
    }
  });
});

describe('publishing on a real RabbitMQ', () => {
  it('sendToQueue: destination amq.default for span and metrics, the queue as routing key', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const queue = unique('direct');
      const ch = await fx.conn.createChannel();
      await ch.assertQueue(queue, { autoDelete: true });
      assert.equal(ch.sendToQueue(queue, Buffer.from('hello')), true);
      const [span] = spansNamed(fx.tracing.spans(), 'publish amq.default');
      assert.ok(span);
      assert.equal(span.attributes['messaging.destination.name'], 'amq.default');
      assert.equal(span.attributes['messaging.rabbitmq.destination.routing_key'], queue);
      assert.equal(span.attributes['messaging.message.body.size'], 5);
      assert.equal(
        await metricValue(fx.registry, 'messaging_client_sent_messages_total', {
          messaging_destination_name: 'amq.default',
        }),
        1,
      );
      const msg = await waitForGet(ch, queue);
      assert.equal(msg.properties.messageId, span.attributes['messaging.message.id']);
      assert.ok(Math.abs(Number(msg.properties.timestamp) - Date.now() / 1000) < 5, 'timestamp in seconds');
    } finally {
      await fx.close();
    }
  });

  it('confirm channel: spans end at the confirm, confirm latency recorded, waitForConfirms and callbacks unchanged', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const queue = unique('confirm');
      const ch = await fx.conn.createConfirmChannel();
      await ch.assertQueue(queue, { autoDelete: true });
      const callbackArgs: unknown[][] = [];
      ch.sendToQueue(queue, Buffer.from('1'), {}, (...args: unknown[]) => callbackArgs.push(args));
      ch.sendToQueue(queue, Buffer.from('2'));
      ch.publish('', queue, Buffer.from('3'));
      await ch.waitForConfirms();
      assert.deepEqual(callbackArgs, [[null]], 'amqplib calls back with exactly its own arguments');
      const spans = spansNamed(fx.tracing.spans(), 'publish amq.default');
      assert.equal(spans.length, 3, 'all three ended by their confirms');
      assert.ok(spans.every((s) => s.status.code !== SpanStatusCode.ERROR));
      const labels = { messaging_destination_name: 'amq.default' };
      assert.equal(
        await metricValue(fx.registry, 'messaging_client_operation_duration_seconds', {
          ...labels,
          messaging_operation_name: 'confirm',
          error_type: '',
        }),
        3,
      );
      assert.equal(
        await metricValue(fx.registry, 'messaging_client_sent_messages_total', { ...labels, error_type: '' }),
        3,
      );
    } finally {
      await fx.close();
    }
  });

  it('records an unroutable mandatory message: on the open span (confirm channel) or as a return span', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const exchange = unique('nowhere');
      await fx.admin.assertExchange(exchange, 'direct', { autoDelete: false });

      const plain = await fx.conn.createChannel();
      const returnedToUser: Message[] = [];
      plain.on('return', (msg: Message) => returnedToUser.push(msg));
      plain.publish(exchange, 'no.binding', Buffer.from('lost'), { mandatory: true });
      await waitFor(() => returnedToUser.length === 1, 'the return event');
      const [returnSpan] = spansNamed(fx.tracing.spans(), `return ${exchange}`);
      const [plainProducer] = spansNamed(fx.tracing.spans(), `publish ${exchange}`);
      assert.ok(returnSpan && plainProducer);
      assert.equal(returnSpan.parentSpanContext?.spanId, plainProducer.spanContext().spanId);
      assert.equal(returnSpan.attributes['error.type'], 'NO_ROUTE');
      assert.equal(returnSpan.events[0]?.attributes?.['hoptrace.return.reply_code'], 312);

      const confirm = await fx.conn.createConfirmChannel();
      confirm.publish(exchange, 'no.binding', Buffer.from('lost too'), { mandatory: true });
      await confirm.waitForConfirms(); // RabbitMQ acks an unroutable message after returning it
      const producers = spansNamed(fx.tracing.spans(), `publish ${exchange}`);
      assert.equal(producers.length, 2);
      const confirmed = producers[1]!;
      assert.equal(confirmed.status.code, SpanStatusCode.ERROR);
      assert.equal(confirmed.attributes['error.type'], 'NO_ROUTE');
      assert.ok(confirmed.events.some((e) => e.name === 'hoptrace.returned'));

      const labels = { messaging_destination_name: exchange };
      assert.equal(
        await metricValue(fx.registry, 'hoptrace_returned_messages_total', { ...labels, reason: 'no_route' }),
        2,
      );
      assert.equal(
        await metricValue(fx.registry, 'messaging_client_sent_messages_total', {
          ...labels,
          error_type: 'NO_ROUTE',
        }),
        1,
      );
      assert.equal(
        await metricValue(fx.registry, 'messaging_client_sent_messages_total', { ...labels, error_type: '' }),
        1,
      );
    } finally {
      await fx.close();
    }
  });

  it('passes publish() returning false through, marks it, and still emits drain', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const queue = unique('backpressure');
      // The write buffer counts frames (objectMode): two fill it.
      const rawChannel = await fx.raw.createChannel({ highWaterMark: 2 });
      const ch = instrumentAmqp(rawChannel, { tracerProvider: fx.tracing.provider, registry: fx.registry });
      await ch.assertQueue(queue, { autoDelete: true });
      let drained = false;
      ch.once('drain', () => {
        drained = true;
      });
      const results = [1, 2, 3, 4].map((n) => ch.sendToQueue(queue, Buffer.from(String(n))));
      assert.ok(results.includes(false), `some publish reports a full buffer: ${results}`);
      await waitFor(() => drained, 'drain');
      const marked = spansNamed(fx.tracing.spans(), 'publish amq.default').map(
        (s) => s.attributes['hoptrace.publish.backpressure'] === true,
      );
      assert.deepEqual(
        marked,
        results.map((r) => r === false),
      );
    } finally {
      await fx.close();
    }
  });

  it('sends user headers byte-for-byte and never changes the caller options', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const queue = unique('headers');
      await fx.admin.assertQueue(queue, { autoDelete: true });
      const makeOptions = () => ({
        headers: {
          blob: Buffer.from([0, 1, 2, 254, 255]),
          nested: { region: 'eu', depth: { n: 7, list: ['a', 1, true] } },
          big: 2 ** 40,
          ratio: 0.25,
          flag: false,
          typed: { '!': 'timestamp', value: 1_700_000_000 },
        },
        contentType: 'application/json',
        priority: 3,
      });
      const callerOptions = makeOptions();
      const headersBefore = callerOptions.headers;
      const wrapped = await fx.conn.createChannel();
      wrapped.sendToQueue(queue, Buffer.from('traced'), callerOptions);
      assert.deepEqual(callerOptions, makeOptions(), 'caller options unchanged');
      assert.equal(callerOptions.headers, headersBefore, 'same headers object');
      assert.equal(Object.keys(callerOptions).length, 3);
      fx.admin.sendToQueue(queue, Buffer.from('raw'), makeOptions());

      const traced = await waitForGet(fx.admin, queue);
      const raw = await waitForGet(fx.admin, queue);
      const hoptraceKeys = [
        'traceparent',
        'tracestate',
        'baggage',
        'x-correlation-id',
        'x-hoptrace-published-at',
        'x-hoptrace-origin-at',
      ];
      const userPart = Object.fromEntries(
        Object.entries(traced.properties.headers ?? {}).filter(([k]) => !hoptraceKeys.includes(k)),
      );
      assert.deepEqual(userPart, raw.properties.headers);
      assert.ok((userPart.blob as Buffer).equals(Buffer.from([0, 1, 2, 254, 255])));
      assert.equal(traced.properties.contentType, 'application/json');
      assert.equal(traced.properties.priority, 3);
    } finally {
      await fx.close();
    }
  });

  it("keeps the caller's messageId, timestamp and traceparent", async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const queue = unique('keep');
      const ch = await fx.conn.createChannel();
      await ch.assertQueue(queue, { autoDelete: true });
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      ch.sendToQueue(queue, Buffer.from('x'), {
        messageId: 'mine-1',
        timestamp: 1234,
        headers: { traceparent },
      });
      const msg = await waitForGet(ch, queue);
      assert.equal(msg.properties.messageId, 'mine-1');
      assert.equal(msg.properties.timestamp, 1234);
      assert.equal(msg.properties.headers?.traceparent, traceparent);
    } finally {
      await fx.close();
    }
  });
});

describe('wrapping', () => {
  it('keeps amqplib classes and events, and never instruments twice', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const rawChannel = await fx.raw.createChannel();
      const options = { tracerProvider: fx.tracing.provider, registry: fx.registry };
      const once = instrumentAmqp(rawChannel, options);
      assert.equal(instrumentAmqp(once, options), once);
      assert.equal(instrumentAmqp(rawChannel, options), once);
      assert.ok(once instanceof (rawChannel.constructor as new (...args: never[]) => object));
      assert.equal(once.constructor, rawChannel.constructor);
      const fromConnection = await fx.conn.createChannel();
      assert.equal(Object.getPrototypeOf(fromConnection), Object.getPrototypeOf(rawChannel));
      assert.equal(fx.conn.connection, fx.raw.connection);

      const queue = unique('once');
      await once.assertQueue(queue, { autoDelete: true });
      instrumentAmqp(once).sendToQueue(queue, Buffer.from('1'));
      assert.equal(spansNamed(fx.tracing.spans(), 'publish amq.default').length, 1);
      const msg = await waitForGet(rawChannel, queue);
      assert.equal(typeof msg.properties.headers?.traceparent, 'string');

      let closed = false;
      once.on('close', () => {
        closed = true;
      });
      await once.close();
      assert.ok(closed);
    } finally {
      await fx.close();
    }
  });
});

describe('recovering connections', () => {
  it('traces channels of connect(url, { recovery })', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    const { default: amqplib } = await import('amqplib');
    const recovering = await amqplib.connect(amqpUrl(), { recovery: { maxRetries: 0 } });
    const conn = instrumentAmqp(recovering, { tracerProvider: fx.tracing.provider, registry: fx.registry });
    try {
      const queue = unique('recovering');
      const ch = await conn.createChannel();
      await ch.assertQueue(queue, { autoDelete: true });
      await ch.consume(queue, (msg) => msg && ch.ack(msg));
      ch.sendToQueue(queue, Buffer.from('x'));
      await waitFor(() => spansNamed(fx.tracing.spans(), `process ${queue}`).length === 1, 'consumer span');
      const [producer] = spansNamed(fx.tracing.spans(), 'publish amq.default');
      const [consumer] = spansNamed(fx.tracing.spans(), `process ${queue}`);
      assert.equal(consumer?.parentSpanContext?.spanId, producer?.spanContext().spanId);
    } finally {
      await conn.close();
      await fx.close();
    }
  });
});

async function waitForGet(ch: { get(queue: string): Promise<GetMessage | false> }, queue: string) {
  let msg: GetMessage | false = false;
  await waitFor(async () => {
    msg = await ch.get(queue);
    return msg !== false;
  }, `a message on ${queue}`);
  return msg as unknown as GetMessage;
}
