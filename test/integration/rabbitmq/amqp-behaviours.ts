/**
 * Scripted amqplib behaviours for the differential suite: each one drives a real broker through one
 * thing amqplib does (confirms, close, channel errors, returns, flow control, consume and settle) and
 * reports everything the application can observe (results, rejections, events, callback calls and
 * their order) as plain data, with the run's own queue and exchange names replaced by placeholders.
 * The same script runs on a raw connection and on an instrumented one; the reports must be equal.
 */
import type amqplib from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage, Message } from 'amqplib';
import { HEADER_CORRELATION_ID } from '../../../instrumentation/core/semconv.js';
import { delay, waitFor } from './helpers.js';

export interface BehaviourRun {
  /** `amqplib/callback_api` of the same version. */
  callbackApi: CallbackApi;
  url: string;
  /** The connection the script uses: raw, or instrumented. */
  conn: ChannelModel;
  /** Wraps a connection the script opens itself (callback API) the same way. */
  wrap<T>(connection: T): T;
  /** A fresh queue or exchange name; reports show it as `<name:i>`. */
  name(prefix: string): string;
}

export type Behaviour = (run: BehaviourRun) => Promise<unknown>;

/** What a promise did, as data. */
export async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    const value = await promise;
    return { resolved: describeValue(value) };
  } catch (err) {
    return { rejected: describeError(err) };
  }
}

/** What a synchronous call did, as data. */
export function attempt(fn: () => unknown): unknown {
  try {
    return { returned: describeValue(fn()) };
  } catch (err) {
    return { threw: describeError(err) };
  }
}

export function describeError(err: unknown): unknown {
  if (!(err instanceof Error)) return { value: String(err) };
  const e = err as Error & { code?: unknown; classId?: unknown; methodId?: unknown };
  return { name: e.name, message: e.message, code: e.code, classId: e.classId, methodId: e.methodId };
}

function describeValue(value: unknown): unknown {
  if (value === undefined || value === null || typeof value !== 'object') return value ?? null;
  if (Array.isArray(value)) return value.map(describeValue);
  if (Buffer.isBuffer(value)) return `buffer:${value.toString()}`;
  if (typeof (value as Channel).publish === 'function') return 'channel';
  return JSON.parse(JSON.stringify(value));
}

/** The headers hoptrace adds (its own names plus W3C trace context); the application never set them. */
const ADDED_HEADERS = new Set([
  'traceparent',
  'tracestate',
  'baggage',
  HEADER_CORRELATION_ID,
  'x-hoptrace-published-at',
  'x-hoptrace-origin-at',
]);

/**
 * A delivered or returned message as the application sees it, minus what hoptrace documents adding:
 * its headers, and `messageId` / `timestamp` when the publisher left them out (`callerSet` says which).
 */
export function visibleMessage(message: Message, callerSet: { messageId?: boolean; timestamp?: boolean }) {
  const headers = Object.fromEntries(
    Object.entries(message.properties.headers ?? {}).filter(([k]) => !ADDED_HEADERS.has(k)),
  );
  const properties: Record<string, unknown> = { ...message.properties, headers };
  if (!callerSet.messageId) delete properties.messageId;
  if (!callerSet.timestamp) delete properties.timestamp;
  const fields: Record<string, unknown> = { ...message.fields };
  delete fields.consumerTag;
  return { content: message.content.toString(), fields, properties: JSON.parse(JSON.stringify(properties)) };
}

function once(
  emitter: { once(event: string, listener: (...args: unknown[]) => void): unknown },
  event: string,
) {
  return new Promise<unknown[]>((resolve) => emitter.once(event, (...args) => resolve(args)));
}

async function exclusiveQueue(ch: Channel, options: amqplib.Options.AssertQueue = {}): Promise<string> {
  return (await ch.assertQueue('', { exclusive: true, ...options })).queue;
}

/** Every event a channel emits that an application listens to, in order. */
function recordEvents(ch: Channel, log: unknown[]): void {
  ch.on('error', (err: unknown) => log.push({ event: 'error', error: describeError(err) }));
  ch.on('close', () => log.push({ event: 'close' }));
  ch.on('return', (msg: Message) => log.push({ event: 'return', message: visibleMessage(msg, {}) }));
  ch.on('drain', () => log.push({ event: 'drain' }));
}

export const BEHAVIOURS: Record<string, Behaviour> = {
  /** The reproduction: confirms lost to a close must make waitForConfirms reject. */
  async 'confirm: 1000 publishes without callbacks, close, waitForConfirms'({ conn }) {
    const ch = await conn.createConfirmChannel();
    const queue = await exclusiveQueue(ch);
    for (let i = 0; i < 1000; i++) ch.sendToQueue(queue, Buffer.from(`m${i}`));
    await ch.close();
    const first = await outcome(ch.waitForConfirms());
    const second = await outcome(ch.waitForConfirms());
    return { first, second, publishAfterClose: attempt(() => ch.sendToQueue(queue, Buffer.from('late'))) };
  },

  async 'confirm: callbacks and waitForConfirms on a healthy channel'({ conn }) {
    const ch = await conn.createConfirmChannel();
    const queue = await exclusiveQueue(ch);
    const calls: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      const cb =
        i % 3 === 0 ? undefined : (err: unknown) => calls.push([i, err === null ? null : describeError(err)]);
      ch.sendToQueue(queue, Buffer.from(`m${i}`), { persistent: i % 2 === 0 }, cb);
    }
    const waited = await outcome(ch.waitForConfirms());
    const count = (await ch.checkQueue(queue)).messageCount;
    await ch.close();
    return { waited, calls: calls.sort((a, b) => (a as number[])[0]! - (b as number[])[0]!), count };
  },

  /**
   * A channel error while confirms are outstanding, with callbacks on some publishes only: which
   * callbacks amqplib calls at the close and which only at waitForConfirms differs between majors
   * (0.10 stops draining at the first publish without one), and must not differ with hoptrace.
   */
  async 'confirm: channel error with mixed callbacks, then waitForConfirms'({ conn, name }) {
    const ch = await conn.createConfirmChannel();
    const log: unknown[] = [];
    recordEvents(ch, log);
    const missing = name('missing-exchange');
    for (let i = 0; i < 12; i++) {
      const cb =
        i % 4 === 1 ? undefined : (err: unknown) => log.push({ callback: i, error: describeError(err) });
      ch.publish(missing, 'k', Buffer.from(`m${i}`), {}, cb);
    }
    await waitFor(() => log.some((e) => (e as { event?: string }).event === 'close'), 'the close');
    log.push('waitForConfirms');
    const waited = await outcome(ch.waitForConfirms());
    log.push('again');
    const again = await outcome(ch.waitForConfirms());
    return { log, waited, again };
  },

  async 'confirm: broker nack (queue full, reject-publish)'({ conn }) {
    const ch = await conn.createConfirmChannel();
    const queue = await exclusiveQueue(ch, { maxLength: 1, arguments: { 'x-overflow': 'reject-publish' } });
    const calls: unknown[] = [];
    for (let i = 0; i < 3; i++)
      ch.sendToQueue(queue, Buffer.from(`m${i}`), {}, (err: unknown) =>
        calls.push([i, err === null ? null : describeError(err)]),
      );
    const waited = await outcome(ch.waitForConfirms());
    await waitFor(() => calls.length === 3, 'three confirms');
    const count = (await ch.checkQueue(queue)).messageCount;
    await ch.close();
    return { waited, calls, count };
  },

  async 'error: publish to a missing exchange on a plain channel'({ conn, name }) {
    const ch = await conn.createChannel();
    const log: unknown[] = [];
    recordEvents(ch, log);
    const sent = ch.publish(name('missing-exchange'), 'k', Buffer.from('x'));
    await waitFor(() => log.length >= 2, 'error and close');
    return {
      sent,
      log,
      publishAfter: attempt(() => ch.publish('', 'q', Buffer.from('y'))),
      closeAfter: await outcome(ch.close()),
    };
  },

  async 'error: an RPC on a missing queue rejects and closes the channel'({ conn, name }) {
    const ch = await conn.createChannel();
    const log: unknown[] = [];
    recordEvents(ch, log);
    const checked = await outcome(ch.checkQueue(name('missing-queue')));
    await waitFor(() => log.some((e) => (e as { event?: string }).event === 'close'), 'the close');
    return { checked, log, getAfter: await outcome(ch.get('whatever')) };
  },

  async 'return: unroutable mandatory message on a plain channel'({ conn, name }) {
    const ch = await conn.createChannel();
    const exchange = name('return-exchange');
    await ch.assertExchange(exchange, 'direct', { autoDelete: true });
    const returned = once(ch, 'return');
    const sent = ch.publish(exchange, 'nowhere', Buffer.from('lost'), {
      mandatory: true,
      headers: { app: 'kept', nested: { a: 1 } },
      correlationId: 'c-1',
      contentType: 'text/plain',
    });
    const [message] = await returned;
    await ch.deleteExchange(exchange);
    await ch.close();
    return { sent, returned: visibleMessage(message as Message, {}) };
  },

  async 'return: unroutable mandatory message on a confirm channel, before its ack'({ conn, name }) {
    const ch = await conn.createConfirmChannel();
    const exchange = name('return-exchange');
    await ch.assertExchange(exchange, 'direct', { autoDelete: true });
    const order: unknown[] = [];
    ch.on('return', (msg: Message) =>
      order.push({ event: 'return', message: visibleMessage(msg, { messageId: true }) }),
    );
    ch.publish(
      exchange,
      'nowhere',
      Buffer.from('lost'),
      { mandatory: true, messageId: 'm-1' },
      (err: unknown) => order.push({ callback: err === null ? null : describeError(err) }),
    );
    const waited = await outcome(ch.waitForConfirms());
    await ch.deleteExchange(exchange);
    await ch.close();
    return { order, waited };
  },

  /** Flow control: `publish()` returns false once the channel's write buffer is full, then `drain` fires. */
  async 'flow: write buffer full, publish returns false, drain, every message arrives'({ conn }) {
    const ch = await conn.createConfirmChannel();
    const queue = await exclusiveQueue(ch);
    const log: unknown[] = [];
    recordEvents(ch, log);
    let firstFalse = -1;
    let sent = 0;
    while (firstFalse < 0 && sent < 20_000) {
      if (!ch.sendToQueue(queue, Buffer.from('x'))) firstFalse = sent;
      sent++;
    }
    const drained = once(ch, 'drain');
    await drained;
    const waited = await outcome(ch.waitForConfirms());
    const count = (await ch.checkQueue(queue)).messageCount;
    await ch.close();
    return { sawFalse: firstFalse > 0, firstFalse, count: count === sent, waited, log };
  },

  async 'consume: ack, nack with requeue, reject into nothing, redelivery order, cancel by delete'({
    conn,
    name,
  }) {
    const ch = await conn.createChannel();
    const queue = name('consume');
    await ch.assertQueue(queue, { autoDelete: false });
    await ch.prefetch(10);
    const seen: unknown[] = [];
    let cancelled = false;
    await ch.consume(queue, (msg: ConsumeMessage | null) => {
      if (!msg) {
        cancelled = true;
        return;
      }
      const body = msg.content.toString();
      seen.push({
        body,
        redelivered: msg.fields.redelivered,
        message: visibleMessage(msg, { messageId: body === 'b' }),
      });
      if (body === 'a') ch.ack(msg);
      else if (body === 'b' && !msg.fields.redelivered) ch.nack(msg);
      else if (body === 'b') ch.ack(msg);
      else ch.reject(msg, false);
    });
    ch.sendToQueue(queue, Buffer.from('a'), { headers: { k: 'v' } });
    ch.sendToQueue(queue, Buffer.from('b'), { messageId: 'own-id', priority: 1 });
    ch.sendToQueue(queue, Buffer.from('c'));
    await waitFor(() => seen.length === 4, 'four deliveries');
    await delay(50);
    const left = (await ch.checkQueue(queue)).messageCount;
    await ch.deleteQueue(queue);
    await waitFor(() => cancelled, 'the cancel');
    await ch.close();
    return { seen, left, cancelled };
  },

  async 'get: pull, nack all, pull again, noAck, empty queue'({ conn }) {
    const ch = await conn.createChannel();
    const queue = await exclusiveQueue(ch);
    for (const body of ['1', '2']) ch.sendToQueue(queue, Buffer.from(body));
    await waitFor(async () => (await ch.checkQueue(queue)).messageCount === 2, 'two messages');
    const first = await ch.get(queue);
    const second = await ch.get(queue);
    ch.nackAll();
    const again = await ch.get(queue, { noAck: true });
    const last = await ch.get(queue, { noAck: true });
    const empty = await ch.get(queue);
    await ch.close();
    const show = (m: Message | false) =>
      m ? { body: m.content.toString(), redelivered: m.fields.redelivered } : m;
    return { first: show(first), second: show(second), again: show(again), last: show(last), empty };
  },

  /** The callback API: the same confirm-after-close rule. */
  async 'callback API: publishes without callbacks, close, waitForConfirms'({ callbackApi, url, wrap }) {
    const raw = await new Promise<CallbackConnection>((resolve, reject) =>
      callbackApi.connect(url, (err, c) => (err ? reject(err) : resolve(c))),
    );
    const conn = wrap(raw);
    try {
      const ch = await new Promise<CallbackConfirmChannel>((resolve, reject) =>
        conn.createConfirmChannel((err, c) => (err ? reject(err) : resolve(c))),
      );
      const queue = await new Promise<string>((resolve, reject) =>
        ch.assertQueue('', { exclusive: true }, (err, ok) => (err ? reject(err) : resolve(ok.queue))),
      );
      for (let i = 0; i < 200; i++) ch.sendToQueue(queue, Buffer.from(`m${i}`));
      await new Promise<void>((resolve) => ch.close(() => resolve()));
      // Before 2.x the callback API's waitForConfirms never answers once the channel closed with
      // confirms outstanding; hoptrace must not turn that into a success.
      const waited = await new Promise<unknown>((resolve) => {
        const timer = setTimeout(() => resolve('no answer within 500 ms'), 500);
        ch.waitForConfirms((err) => {
          clearTimeout(timer);
          resolve(err ? { rejected: describeError(err) } : { resolved: null });
        });
      });
      return { waited };
    } finally {
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  },
};

interface CallbackConfirmChannel {
  assertQueue(q: string, o: object, cb: (err: unknown, ok: { queue: string }) => void): void;
  sendToQueue(q: string, c: Buffer): boolean;
  close(cb: (err?: unknown) => void): void;
  waitForConfirms(cb: (err?: unknown) => void): void;
}
interface CallbackConnection {
  createConfirmChannel(cb: (err: unknown, ch: CallbackConfirmChannel) => void): void;
  close(cb: (err?: unknown) => void): void;
}
export interface CallbackApi {
  connect(url: string, cb: (err: unknown, conn: CallbackConnection) => void): void;
}

/** Replaces every name the run created by `<name:i>`, in strings anywhere in the report. */
export function normalizeNames(report: unknown, names: readonly string[]): unknown {
  const text = JSON.stringify(report, (_key, value) => {
    if (typeof value !== 'string') return value;
    let out = value;
    names.forEach((n, i) => {
      out = out.split(n).join(`<name:${i}>`);
    });
    return out.replace(/amq\.gen-[A-Za-z0-9_-]+/g, '<server-named>');
  });
  return JSON.parse(text);
}
