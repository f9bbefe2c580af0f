import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock, processSpan, publishSpan } from '../../test/helpers/collector.js';
import { Linker } from '../linker/linker.js';
import { buildFlowMap, digestPercentile, latencyBucket, mergeFlowMaps } from './map.js';
import type { FlowMap, MapEdge } from './map-types.js';

const edge = (map: FlowMap, id: string): MapEdge => {
  const found = map.edges.find((e) => e.id === id);
  assert.ok(found, `edge ${id} in ${map.edges.map((e) => e.id).join(', ')}`);
  return found;
};

/** RabbitMQ: checkout publishes to exchange `orders`, queues billing.q and email.q are bound to it. */
function rabbitFlow(i: number, emailFails: boolean) {
  const pub = publishSpan({
    service: 'checkout',
    destination: 'orders',
    routingKey: 'order.placed',
    messageId: `m-${i}`,
    correlationId: `c-${i}`,
    at: i * 100,
  });
  const billing = processSpan(pub, {
    service: 'billing',
    destination: 'billing.q',
    outcome: 'ack',
    at: i * 100 + 4,
  });
  const email = emailFails
    ? [
        processSpan(pub, { service: 'email', destination: 'email.q', outcome: 'requeue', at: i * 100 + 10 }),
        processSpan(pub, {
          service: 'email',
          destination: 'email.q',
          outcome: 'dead_letter',
          at: i * 100 + 20,
        }),
        processSpan(pub, {
          service: 'audit',
          destination: 'email.dlq',
          outcome: 'ack',
          deadLetterReason: 'rejected',
          deadLetterSource: 'email.q',
          at: i * 100 + 30,
        }),
      ]
    : [processSpan(pub, { service: 'email', destination: 'email.q', outcome: 'ack', at: i * 100 + 10 })];
  email[0].status = emailFails ? { code: 'error' } : email[0].status;
  return [pub, billing, ...email];
}

describe('flow map', () => {
  it('draws publish, route, consume and dead-letter edges with counts, rates and latencies', () => {
    const clock = manualClock();
    const linker = new Linker({ now: clock.now });
    linker.ingest([...rabbitFlow(1, false), ...rabbitFlow(2, true)]);
    clock.advance(120_000);
    linker.ingest(rabbitFlow(3, false)); // only this one is inside a 60 s window
    const map = buildFlowMap(linker, { now: clock.now(), windowMs: 60_000 });

    assert.deepEqual(map.nodes.map((n) => n.id).sort(), [
      'destination:rabbitmq:billing.q',
      'destination:rabbitmq:email.dlq',
      'destination:rabbitmq:email.q',
      'destination:rabbitmq:orders',
      'service:audit',
      'service:billing',
      'service:checkout',
      'service:email',
    ]);
    const publish = edge(map, 'publish:service:checkout->destination:rabbitmq:orders');
    assert.equal(publish.count, 3);
    assert.equal(publish.ratePerSecond, 0.016667, '1 publish in the last 60 s');
    const route = edge(map, 'route:destination:rabbitmq:orders->destination:rabbitmq:email.q');
    assert.equal(route.count, 3, 'first attempts only');
    const email = edge(map, 'consume:destination:rabbitmq:email.q->service:email:email.q');
    assert.equal(email.count, 4);
    assert.equal(email.retries, 1);
    assert.equal(email.errors, 1);
    assert.equal(email.errorRate, 0.25);
    assert.equal(email.deadLetters, 1);
    assert.equal(email.p50Ms !== undefined && Math.abs(email.p50Ms - 10) <= 0.5, true, `p50 ${email.p50Ms}`);
    const billing = edge(map, 'consume:destination:rabbitmq:billing.q->service:billing:billing.q');
    assert.ok(billing.p95Ms !== undefined && Math.abs(billing.p95Ms - 4) <= 0.2, `p95 ${billing.p95Ms}`);
    const dl = edge(map, 'dead_letter:destination:rabbitmq:email.q->destination:rabbitmq:email.dlq');
    assert.equal(dl.count, 1);
    assert.equal(map.nodes.find((n) => n.id === 'destination:rabbitmq:email.dlq')?.deadLetter, true);
    assert.equal(map.journeys, 3);
  });

  it('counts unconsumed publishes and orphan deliveries, not deliveries still waiting', () => {
    const clock = manualClock();
    const linker = new Linker({
      now: clock.now,
      limits: { unconsumedDeadlineMs: 1_000, linkWindowMs: 1_000 },
    });
    const lost = publishSpan({
      service: 'a',
      destination: 'd',
      system: 'kafka',
      correlationId: 'lost',
      at: 0,
    });
    const ghost = publishSpan({
      service: 'x',
      destination: 'd',
      system: 'kafka',
      correlationId: 'ghost',
      at: 0,
    });
    const orphan = processSpan(ghost, { service: 'b', destination: 'd', group: 'g', at: 1 });
    linker.ingest([lost, orphan]);
    let map = buildFlowMap(linker, { now: clock.now(), windowMs: 60_000 });
    assert.equal(edge(map, 'consume:destination:kafka:d->service:b:g').orphans, 0, 'still waiting');
    clock.advance(2_000);
    linker.sweep();
    map = buildFlowMap(linker, { now: clock.now(), windowMs: 60_000 });
    assert.equal(edge(map, 'consume:destination:kafka:d->service:b:g').orphans, 1);
    assert.equal(edge(map, 'publish:service:a->destination:kafka:d').unconsumed, 1);
    const node = map.nodes.find((n) => n.id === 'destination:kafka:d');
    assert.deepEqual([node?.unconsumed, node?.orphans], [1, 1]);
  });

  it('adds broker depth, DLQ depth and lag from the monitors', () => {
    const linker = new Linker();
    linker.ingest(rabbitFlow(1, false));
    const map = buildFlowMap(linker, {
      now: Date.now(),
      windowMs: 60_000,
      broker: {
        destinations: [
          { system: 'rabbitmq', destination: 'email.q', depth: 7 },
          { system: 'rabbitmq', destination: 'email.dlq', dlqDepth: 3, deadLetterSources: ['email.q'] },
          { system: 'rabbitmq', destination: 'unrelated.q', depth: 1 },
        ],
        lag: [{ system: 'rabbitmq', destination: 'email.q', group: '', messages: 5, seconds: 2 }],
      },
    });
    assert.equal(map.nodes.find((n) => n.id === 'destination:rabbitmq:email.q')?.depth, 7);
    const dlq = map.nodes.find((n) => n.id === 'destination:rabbitmq:email.dlq');
    assert.deepEqual([dlq?.dlqDepth, dlq?.deadLetter], [3, true]);
    assert.equal(
      map.nodes.find((n) => n.name === 'unrelated.q'),
      undefined,
      'queues no span showed stay out',
    );
    edge(map, 'dead_letter:destination:rabbitmq:email.q->destination:rabbitmq:email.dlq');
    assert.deepEqual(edge(map, 'consume:destination:rabbitmq:email.q->service:email:email.q').lag, {
      messages: 5,
      seconds: 2,
    });
  });

  it('merges the maps of two collectors: counts add, percentiles from the added digests', () => {
    const a = new Linker();
    const b = new Linker();
    a.ingest(rabbitFlow(1, false));
    b.ingest([...rabbitFlow(2, false), ...rabbitFlow(3, false)]);
    const options = { now: Date.now(), windowMs: 60_000, digests: true };
    const merged = mergeFlowMaps([buildFlowMap(a, options), buildFlowMap(b, options)]);
    const whole = new Linker();
    whole.ingest([...rabbitFlow(4, false), ...rabbitFlow(5, false), ...rabbitFlow(6, false)]);
    const single = buildFlowMap(whole, { ...options, digests: false });
    assert.equal(merged.instances, 2);
    assert.equal(merged.journeys, 3);
    for (const e of single.edges) {
      const m = edge(merged, e.id);
      assert.deepEqual(
        [m.count, m.ratePerSecond, m.p50Ms, m.p95Ms, m.latencyDigest],
        [e.count, e.ratePerSecond, e.p50Ms, e.p95Ms, undefined],
      );
    }
  });

  it('latency digest percentiles are within 5 %', () => {
    const digest = new Map<number, number>();
    for (let v = 1; v <= 1000; v++) {
      const bucket = latencyBucket(v);
      digest.set(bucket, (digest.get(bucket) ?? 0) + 1);
    }
    const p50 = digestPercentile(digest, 0.5)!;
    const p95 = digestPercentile(digest, 0.95)!;
    assert.ok(Math.abs(p50 - 500) / 500 < 0.05, `p50 ${p50}`);
    assert.ok(Math.abs(p95 - 950) / 950 < 0.05, `p95 ${p95}`);
    assert.equal(digestPercentile(new Map(), 0.5), undefined);
  });
});
