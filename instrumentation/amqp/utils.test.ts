import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadLetterExchangeOf, MAX_KNOWN_QUEUES, Topology } from './topology.js';
import type { AmqpMessage } from './types.js';
import {
  attemptOf,
  exchangeDestination,
  isNewDeadLetterEvent,
  negativeOutcome,
  parseXDeath,
  returnReason,
  timestampMillisOf,
} from './utils.js';

function message(overrides: {
  redelivered?: boolean;
  headers?: Record<string, unknown>;
  timestamp?: unknown;
}) {
  return {
    content: Buffer.from('x'),
    fields: { deliveryTag: 1, redelivered: overrides.redelivered ?? false, exchange: '', routingKey: 'q' },
    properties: { headers: overrides.headers, timestamp: overrides.timestamp },
  } satisfies AmqpMessage;
}

// As amqplib 2.x decodes RabbitMQ's header: timestamps as `{ '!': 'timestamp', value }`.
const xDeath = [
  {
    count: 2,
    reason: 'expired',
    queue: 'retry.q',
    time: { '!': 'timestamp', value: 1_700_000_100 },
    exchange: 'retry',
    'routing-keys': ['orders.placed'],
  },
  {
    count: 1,
    reason: 'rejected',
    queue: 'orders.q',
    time: 1_700_000_000,
    exchange: 'orders',
    'routing-keys': [],
  },
];

describe('parseXDeath', () => {
  it('reads every entry, most recent first, unwrapping typed values', () => {
    const entries = parseXDeath({ 'x-death': xDeath });
    assert.deepEqual(entries, [
      {
        count: 2,
        reason: 'expired',
        queue: 'retry.q',
        exchange: 'retry',
        time: 1_700_000_100,
        routingKeys: ['orders.placed'],
      },
      {
        count: 1,
        reason: 'rejected',
        queue: 'orders.q',
        exchange: 'orders',
        time: 1_700_000_000,
        routingKeys: [],
      },
    ]);
  });

  it('decodes byte-array strings and knows every RabbitMQ reason', () => {
    const reasons = ['rejected', 'expired', 'maxlen', 'delivery_limit'];
    const entries = parseXDeath({
      'x-death': reasons.map((reason) => ({
        reason: Buffer.from(reason),
        queue: Buffer.from('q'),
        count: 1,
      })),
    });
    assert.deepEqual(
      entries.map((e) => [e.reason, e.queue]),
      reasons.map((r) => [r, 'q']),
    );
  });

  it('skips malformed entries and never throws', () => {
    assert.deepEqual(parseXDeath(undefined), []);
    assert.deepEqual(parseXDeath({ 'x-death': 'nope' }), []);
    const entries = parseXDeath({
      'x-death': [null, 5, [], { reason: 'mystery' }, { reason: 'maxlen', count: -3, time: 'soon' }],
    });
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.reason, 'maxlen');
    assert.equal(entries[0]?.count, 1);
    assert.equal(entries[0]?.time, undefined);
  });
});

describe('isNewDeadLetterEvent', () => {
  const [latest] = parseXDeath({ 'x-death': xDeath });

  it('counts the first delivery after dead-lettering', () => {
    const published = String(1_700_000_000_500); // before the event at ...100 s
    assert.equal(
      isNewDeadLetterEvent(message({ headers: { 'x-hoptrace-published-at': published } }), latest),
      true,
    );
    assert.equal(isNewDeadLetterEvent(message({}), latest), true);
  });

  it('does not count a redelivery from the dead-letter queue', () => {
    assert.equal(isNewDeadLetterEvent(message({ redelivered: true }), latest), false);
  });

  it('does not count a copy re-published after the event', () => {
    const republished = String(1_700_000_105_000);
    assert.equal(
      isNewDeadLetterEvent(message({ headers: { 'x-hoptrace-published-at': republished } }), latest),
      false,
    );
  });

  it('is false without history', () => {
    assert.equal(isNewDeadLetterEvent(message({}), undefined), false);
  });
});

describe('attemptOf', () => {
  it('is 1 for a first delivery, 2 for a classic redelivery, count + 1 for quorum queues', () => {
    assert.equal(attemptOf(message({})), 1);
    assert.equal(attemptOf(message({ redelivered: true })), 2);
    assert.equal(attemptOf(message({ redelivered: true, headers: { 'x-delivery-count': 3 } })), 4);
    assert.equal(attemptOf(message({ headers: { 'x-delivery-count': { '!': 'long', value: 1 } } })), 2);
    assert.equal(attemptOf(message({ headers: { 'x-delivery-count': 'x' } })), 1);
  });
});

describe('outcomes and names', () => {
  it('maps nack/reject to requeue, dead_letter or reject', () => {
    assert.equal(negativeOutcome(true, true), 'requeue');
    assert.equal(negativeOutcome(true, false), 'requeue');
    assert.equal(negativeOutcome(false, true), 'dead_letter');
    assert.equal(negativeOutcome(false, false), 'reject');
  });

  it('names the default exchange amq.default', () => {
    assert.equal(exchangeDestination(''), 'amq.default');
    assert.equal(exchangeDestination(undefined), 'amq.default');
    assert.equal(exchangeDestination('orders'), 'orders');
  });

  it('maps return reply codes and reads the timestamp property in seconds', () => {
    assert.equal(returnReason(312), 'no_route');
    assert.equal(returnReason(313), 'no_consumers');
    assert.equal(returnReason(undefined), 'other');
    assert.equal(timestampMillisOf(message({ timestamp: 1_700_000_000 })), 1_700_000_000_000);
    assert.equal(timestampMillisOf(message({})), undefined);
  });
});

describe('Topology', () => {
  it('reads the dead-letter exchange as amqplib sends it (the option wins over the argument)', () => {
    assert.equal(deadLetterExchangeOf({ deadLetterExchange: 'dlx' }), 'dlx');
    assert.equal(deadLetterExchangeOf({ deadLetterExchange: '' }), '');
    assert.equal(deadLetterExchangeOf({ arguments: { 'x-dead-letter-exchange': 'raw' } }), 'raw');
    assert.equal(
      deadLetterExchangeOf({ deadLetterExchange: 'opt', arguments: { 'x-dead-letter-exchange': 'raw' } }),
      'opt',
    );
    assert.equal(deadLetterExchangeOf({ durable: true }), undefined);
    assert.equal(deadLetterExchangeOf(undefined), undefined);
  });

  it('learns, forgets and prefers configured exchanges', () => {
    const topology = new Topology();
    topology.declared('a', { deadLetterExchange: 'dlx' });
    assert.equal(topology.deadLetterExchange('a'), 'dlx');
    assert.equal(topology.deadLetterExchange('a', { a: 'configured' }), 'configured');
    topology.declared('a', {});
    assert.equal(topology.deadLetterExchange('a'), undefined);
    topology.declared('b', { deadLetterExchange: 'dlx' });
    topology.deleted('b');
    assert.equal(topology.deadLetterExchange('b'), undefined);
  });

  it('stays bounded', () => {
    const topology = new Topology();
    for (let i = 0; i <= MAX_KNOWN_QUEUES; i++) topology.declared(`q${i}`, { deadLetterExchange: 'x' });
    assert.equal(topology.deadLetterExchange('q0'), undefined);
    assert.equal(topology.deadLetterExchange(`q${MAX_KNOWN_QUEUES}`), 'x');
  });
});
