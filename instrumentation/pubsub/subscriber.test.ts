import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { Message, Subscription } from '@google-cloud/pubsub';
import { SpanStatusCode } from '@opentelemetry/api';
import { createTestTracing } from '../../test/helpers/tracing.js';
import { createOpenMetricsRegistry } from '../core/metrics.js';
import { createWrapContext } from './instrument.js';
import { wrapSubscription } from './subscriber.js';
import type { PubSubInstrumentationOptions } from './types.js';

/** A Subscription stand-in: an EventEmitter with the fields the wrapper reads. */
function fakeSubscription(extra: Record<string, unknown> = {}) {
  return Object.assign(new EventEmitter(), { name: 'projects/p/subscriptions/billing', ...extra });
}

let nextId = 0;
function fakeMessage(fields: Partial<Record<keyof Message, unknown>> = {}) {
  const calls: string[] = [];
  const message = {
    id: `m-${++nextId}`,
    attributes: {},
    data: Buffer.from('x'),
    deliveryAttempt: 0,
    publishTime: new Date(Date.now() - 5),
    received: Date.now(),
    ack: () => calls.push('ack'),
    nack: () => calls.push('nack'),
    ackWithResponse: async () => {
      calls.push('ackWithResponse');
      return 'SUCCESS';
    },
    ...fields,
  };
  return { message: message as unknown as Message, calls };
}

function setup(options: PubSubInstrumentationOptions = {}, sub = fakeSubscription()) {
  const tracing = createTestTracing();
  const registry = createOpenMetricsRegistry();
  const ctx = createWrapContext({ tracerProvider: tracing.provider, registry, ...options });
  const wrapped = wrapSubscription(ctx, sub as unknown as Subscription);
  return { tracing, registry, wrapped, raw: sub };
}

const outcome = (t: ReturnType<typeof createTestTracing>) =>
  t.spans().map((s) => s.attributes['hoptrace.outcome']);

describe('pubsub subscriber wrapper', () => {
  it('settles ack and nack through the message the listener gets, calling the real methods once', () => {
    const { tracing, wrapped, raw } = setup();
    wrapped.on('message', (m: Message) => (m.data.toString() === 'x' ? m.ack() : m.nack()));
    const a = fakeMessage();
    const b = fakeMessage({ data: Buffer.from('y') });
    raw.emit('message', a.message);
    raw.emit('message', b.message);
    assert.deepEqual(a.calls, ['ack']);
    assert.deepEqual(b.calls, ['nack']);
    assert.deepEqual(outcome(tracing), ['ack', 'requeue']);
  });

  it('passes a throwing listener error through untouched, once, and records error', () => {
    const { tracing, wrapped, raw } = setup();
    const boom = new RangeError('boom');
    wrapped.on('message', () => {
      throw boom;
    });
    const { message, calls } = fakeMessage();
    assert.throws(
      () => raw.emit('message', message),
      (err) => err === boom,
    );
    assert.deepEqual(calls, [], 'the client neither acks nor nacks a failed message');
    const [span] = tracing.spans();
    assert.equal(span!.attributes['hoptrace.outcome'], 'error');
    assert.equal(span!.attributes['error.type'], 'RangeError');
    assert.equal(span!.status.code, SpanStatusCode.ERROR);
  });

  it('dead-letters the nack of the last attempt the policy allows, counted once', async () => {
    const policy = { deadLetterPolicy: { deadLetterTopic: 'projects/p/topics/dl', maxDeliveryAttempts: 2 } };
    const { tracing, registry, wrapped, raw } = setup({}, fakeSubscription({ metadata: policy }));
    wrapped.on('message', (m: Message) => m.nack());
    raw.emit('message', fakeMessage({ deliveryAttempt: 1 }).message);
    raw.emit('message', fakeMessage({ deliveryAttempt: 2 }).message);
    assert.deepEqual(outcome(tracing), ['requeue', 'dead_letter']);
    assert.equal(tracing.spans()[1]!.attributes['hoptrace.dead_letter.reason'], 'delivery_limit');
    const metric = await registry.getSingleMetric('hoptrace_dead_lettered_messages_total')!.get();
    assert.deepEqual(
      metric.values.map((v) => [v.labels.reason, v.value]),
      [['delivery_limit', 1]],
    );
  });

  it('fetches the policy once when messages carry an attempt and the Subscription has no metadata', async () => {
    let fetches = 0;
    const sub = fakeSubscription({
      getMetadata: async () => {
        fetches++;
        return [{ deadLetterPolicy: { deadLetterTopic: 'projects/p/topics/dl', maxDeliveryAttempts: 5 } }];
      },
    });
    const { tracing, wrapped, raw } = setup({}, sub);
    wrapped.on('message', (m: Message) => m.nack());
    raw.emit('message', fakeMessage({ deliveryAttempt: 4 }).message);
    await new Promise((r) => setImmediate(r));
    raw.emit('message', fakeMessage({ deliveryAttempt: 5 }).message);
    assert.equal(fetches, 1);
    assert.deepEqual(outcome(tracing), ['requeue', 'dead_letter']);
  });

  it('settles an unacked message when its lease runs out (retry)', async () => {
    const sub = fakeSubscription({ _subscriber: { maxExtensionTime: { totalOf: () => 30 } } });
    const { tracing, wrapped, raw } = setup({}, sub);
    wrapped.on('message', () => {});
    raw.emit('message', fakeMessage().message);
    await new Promise((r) => setTimeout(r, 80));
    const [span] = tracing.spans();
    assert.equal(span!.attributes['hoptrace.outcome'], 'retry');
    assert.equal(span!.attributes['error.type'], 'HOPTRACE_PUBSUB_LEASE_EXPIRED');
  });

  it('keeps one lease timer for all open deliveries, each settled when its own lease runs out', async () => {
    const sub = fakeSubscription({ _subscriber: { maxExtensionTime: { totalOf: () => 400 } } });
    const { tracing, wrapped, raw } = setup({}, sub);
    const held = new Map<string, Message>();
    wrapped.on('message', (m: Message) => {
      if (m.data.toString() === 'ack') m.ack();
      else held.set(m.id, m);
    });
    const realSetTimeout = globalThis.setTimeout;
    let timers = 0;
    // Lease timers only (0 < delay <= the 400 ms lease): not the core's settle timeout (30 s) nor the
    // in-memory exporter's setTimeout(0).
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      const delay = Number(args[1]);
      if (delay > 0 && delay <= 400) timers++;
      return realSetTimeout(...args);
    }) as typeof setTimeout;
    let early: Message;
    let late: Message;
    try {
      // Received 380 ms ago: its lease ends in 20 ms, long before the ones received now.
      early = fakeMessage({ received: Date.now() - 380 }).message;
      late = fakeMessage().message;
      raw.emit('message', late);
      raw.emit('message', early);
      for (let i = 0; i < 50; i++) raw.emit('message', fakeMessage().message);
      for (let i = 0; i < 50; i++) raw.emit('message', fakeMessage({ data: Buffer.from('ack') }).message);
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    // One timer for the first lease, set again once for the earlier one: not one per message.
    assert.ok(timers <= 2, `${timers} lease timers for 102 messages`);
    const acked = Array.from({ length: 50 }, () => 'ack');
    assert.deepEqual(outcome(tracing), acked);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(outcome(tracing), [...acked, 'retry']);
    assert.equal(tracing.spans()[50]!.attributes['error.type'], 'HOPTRACE_PUBSUB_LEASE_EXPIRED');
    held.get(late.id)!.ack();
    assert.deepEqual(outcome(tracing), [...acked, 'retry', 'ack']);
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(outcome(tracing), [
      ...acked,
      'retry',
      'ack',
      ...Array.from({ length: 50 }, () => 'retry'),
    ]);
    // Settled by its lease, the early message's later ack changes nothing.
    held.get(early.id)!.ack();
    assert.equal(tracing.spans().length, 102);
  });

  it('settles ackWithResponse when the response comes, returning its value', async () => {
    const { tracing, wrapped, raw } = setup();
    let response: unknown;
    wrapped.on('message', async (m: Message) => {
      response = await m.ackWithResponse();
    });
    raw.emit('message', fakeMessage().message);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(response, 'SUCCESS');
    assert.deepEqual(outcome(tracing), ['ack']);
  });

  it('removes a wrapped listener by the original function', () => {
    const { tracing, wrapped, raw } = setup();
    const listener = (m: Message) => m.ack();
    wrapped.on('message', listener);
    assert.equal(raw.listenerCount('message'), 1);
    wrapped.removeListener('message', listener);
    assert.equal(raw.listenerCount('message'), 0);
    raw.emit('message', fakeMessage().message);
    assert.equal(tracing.spans().length, 0);
  });

  it('throwing hooks do not affect the user flow', () => {
    const hook = () => {
      throw new Error('hook');
    };
    const { tracing, wrapped, raw } = setup({ hooks: { consumeHook: hook, settleHook: hook } });
    const seen: string[] = [];
    wrapped.on('message', (m: Message) => {
      seen.push(m.id);
      m.ack();
    });
    const { message, calls } = fakeMessage();
    raw.emit('message', message);
    assert.deepEqual(seen, [message.id]);
    assert.deepEqual(calls, ['ack']);
    assert.deepEqual(outcome(tracing), ['ack']);
  });

  it('marks a message Pub/Sub forwarded to a dead-letter topic, without counting it again', async () => {
    const { tracing, registry, wrapped, raw } = setup();
    wrapped.on('message', (m: Message) => m.ack());
    const attributes = {
      CloudPubSubDeadLetterSourceSubscription: 'projects/p/subscriptions/billing',
      CloudPubSubDeadLetterSourceDeliveryCount: '5',
    };
    raw.emit('message', fakeMessage({ attributes }).message);
    const [span] = tracing.spans();
    assert.equal(span!.attributes['hoptrace.dead_letter.reason'], 'delivery_limit');
    assert.equal(span!.attributes['hoptrace.dead_letter.source'], 'billing');
    assert.equal(span!.attributes['hoptrace.outcome'], 'ack');
    const metric = await registry.getSingleMetric('hoptrace_dead_lettered_messages_total')!.get();
    assert.equal(
      metric.values.reduce((sum, v) => sum + v.value, 0),
      0,
    );
  });
});
