import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headTimestampSeconds, queueReading } from './broker-monitor.js';
import { deadLetterTargets, topicMatches } from './dead-letter-targets.js';

const q = (name: string, args: Record<string, unknown> = {}, extra: object = {}) => ({
  name,
  arguments: args,
  ...extra,
});
const bind = (source: string, destination: string, routing_key: string) => ({
  source,
  destination,
  destination_type: 'queue',
  routing_key,
});
const asObject = (m: Map<string, Set<string>>) =>
  Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]));

describe('RabbitMQ dead-letter target resolution', () => {
  it('matches AMQP topic patterns', () => {
    assert.equal(topicMatches('orders.*', 'orders.placed'), true);
    assert.equal(topicMatches('orders.*', 'orders.placed.eu'), false);
    assert.equal(topicMatches('orders.#', 'orders'), true);
    assert.equal(topicMatches('#.failed', 'a.b.failed'), true);
    assert.equal(topicMatches('*.failed', 'failed'), false);
  });

  it('resolves arguments, policies and bindings to dead-letter queues', () => {
    const queues = [
      q('orders', { 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'orders' }),
      q('billing', {}, { policy: 'dl', effective_policy_definition: {} }),
      q('shipping', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'shared.dlq' }),
      q('email', { 'x-dead-letter-exchange': 'fan' }),
      q('audit', { 'x-dead-letter-exchange': 'topic-dlx', 'x-dead-letter-routing-key': 'audit.failed' }),
      q(
        'inventory',
        { 'x-dead-letter-exchange': 'dlx' },
        { effective_policy_definition: { 'dead-letter-exchange': 'ignored' } },
      ),
      q('orders.dlq'),
      q('billing.dlq'),
      q('shared.dlq'),
      q('all-failures'),
      q('other'),
    ];
    const bindings = [
      bind('dlx', 'orders.dlq', 'orders'),
      bind('dlx', 'other', 'not-orders'),
      bind('fan', 'shared.dlq', 'whatever'),
      bind('fan', 'all-failures', ''),
      bind('topic-dlx', 'all-failures', '#.failed'),
      bind('topic-dlx', 'other', 'billing.*'),
    ];
    const exchanges = [
      { name: 'dlx', type: 'direct' },
      { name: 'fan', type: 'fanout' },
      { name: 'topic-dlx', type: 'topic' },
    ];
    const policies = [
      { name: 'dl', definition: { 'dead-letter-exchange': '', 'dead-letter-routing-key': 'billing.dlq' } },
    ];
    assert.deepEqual(asObject(deadLetterTargets(queues, bindings, exchanges, policies)), {
      'orders.dlq': ['inventory', 'orders'],
      other: ['inventory'],
      'billing.dlq': ['billing'],
      'shared.dlq': ['email', 'shipping'],
      'all-failures': ['audit', 'email'],
    });
  });
});

describe('RabbitMQ head message timestamp', () => {
  const now = 1_700_000_000;
  it('reads seconds as AMQP defines them, and milliseconds written by Date.now() clients', () => {
    assert.equal(headTimestampSeconds(now - 30, now), now - 30);
    assert.equal(headTimestampSeconds((now - 30) * 1000, now), now - 30);
  });
  it('has no value for an empty queue or a head without timestamp', () => {
    assert.equal(headTimestampSeconds(undefined, now), undefined);
    assert.equal(headTimestampSeconds(null, now), undefined);
    assert.equal(headTimestampSeconds(0, now), undefined);
  });
});

describe('RabbitMQ temporary and anonymous queues', () => {
  const now = 1_700_000_000;
  const info = (name: string, ready: number, extra: object = {}) => ({
    name,
    messages_ready: ready,
    messages_unacknowledged: 1,
    consumers: 1,
    ...extra,
  });

  it('reports exclusive and server-named queues together under their placeholder', () => {
    const reading = queueReading(
      [
        info('orders', 5),
        info('amq.gen-A', 1, { exclusive: true, head_message_timestamp: now - 10 }),
        info('amq.gen-B', 2, { exclusive: true, head_message_timestamp: now - 30 }),
        info('replies.mine', 3, { exclusive: true }),
        info('amq.gen-C', 4),
        info('worker.5f0c9d3e-2b1a-4c8e-9f7a-1d2e3f4a5b6c', 6),
      ],
      new Map([['orders.dlq', new Set(['amq.gen-A', 'orders'])]]),
      now,
    );
    const byName = Object.fromEntries((reading.queues ?? []).map((q) => [q.destination, q]));
    assert.deepEqual(Object.keys(byName).sort(), ['(anonymous)', '(temporary)', 'orders']);
    assert.equal(byName['(temporary)']?.ready, 6);
    assert.equal(byName['(temporary)']?.unacked, 3);
    assert.equal(byName['(temporary)']?.consumers, 3);
    assert.equal(byName['(temporary)']?.oldestAgeSeconds, 30);
    assert.equal(byName['(anonymous)']?.ready, 10);
    assert.deepEqual((reading.lag ?? []).map((l) => [l.destination, l.messages]).sort(), [
      ['(anonymous)', 10],
      ['(temporary)', 6],
      ['orders', 5],
    ]);
  });

  it('names a temporary dead-letter source by its placeholder too', () => {
    const reading = queueReading(
      [info('orders', 0), info('amq.gen-A', 0, { exclusive: true }), info('orders.dlq', 2)],
      new Map([['orders.dlq', new Set(['amq.gen-A', 'orders'])]]),
      now,
    );
    const dlq = (reading.queues ?? []).find((q) => q.destination === 'orders.dlq');
    assert.deepEqual([...(dlq?.deadLetterSources ?? [])].sort(), ['(temporary)', 'orders']);
  });
});
