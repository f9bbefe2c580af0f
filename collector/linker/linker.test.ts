import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ATTR_HOPTRACE_LINK_KIND,
  LINK_KIND_FLOW_CHILD,
  METRIC_COLLECTOR_EVICTIONS,
  METRIC_DEAD_LETTER_HOPS,
  METRIC_DUPLICATE_DELIVERIES,
  METRIC_FANOUT_DELIVERIES,
  METRIC_HOP_LATENCY,
  METRIC_ORPHAN_DELIVERIES,
  METRIC_UNCONSUMED,
} from '../../instrumentation/core/semconv.js';
import {
  batchSpan,
  internalSpan,
  manualClock,
  metricSum,
  processSpan,
  publishSpan,
} from '../../test/helpers/collector.js';
import { buildFlowMap } from '../journey/map.js';
import { CollectorMetrics } from '../metrics.js';
import type { SpanRecord } from '../types.js';
import { Linker, type LinkerLimits } from './linker.js';

const LIMITS: Partial<LinkerLimits> = {
  linkWindowMs: 5_000,
  unconsumedDeadlineMs: 10_000,
  messageTtlMs: 60_000,
};

function setup(limits: Partial<LinkerLimits> = {}) {
  const clock = manualClock();
  const metrics = new CollectorMetrics({ maxLabelValues: 200 });
  const synthetic: SpanRecord[] = [];
  const linker = new Linker({
    limits: { ...LIMITS, ...limits },
    metrics,
    now: clock.now,
    onSyntheticSpans: (spans) => synthetic.push(...spans),
  });
  return { clock, metrics, synthetic, linker };
}

const hopCount = (m: CollectorMetrics, labels: Record<string, string> = {}) =>
  metricSum(m, METRIC_HOP_LATENCY, labels, `${METRIC_HOP_LATENCY}_count`);
const hopSum = (m: CollectorMetrics, labels: Record<string, string> = {}) =>
  metricSum(m, METRIC_HOP_LATENCY, labels, `${METRIC_HOP_LATENCY}_sum`);

describe('Linker', () => {
  it('links a fan-out in parent mode: one hop per group, fan-out observed at the deadline, no synthetic spans', async () => {
    const { clock, metrics, synthetic, linker } = setup();
    const pub = publishSpan({
      service: 'orders',
      destination: 'orders',
      messageId: 'm1',
      correlationId: 'c1',
      at: 0,
    });
    const billing = processSpan(pub, { service: 'billing', destination: 'billing', at: 12 });
    const shipping = processSpan(pub, { service: 'shipping', destination: 'shipping', at: 30 });
    const audit = processSpan(pub, { service: 'audit', destination: 'audit', at: 7 });
    linker.ingest([pub, billing, shipping, audit]);

    assert.equal(await hopCount(metrics), 3);
    assert.equal(await hopCount(metrics, { producer_service: 'orders', consumer_service: 'billing' }), 1);
    assert.ok(Math.abs((await hopSum(metrics)) - 0.049) < 1e-9);
    assert.equal(
      await hopSum(metrics, { consumer_service: 'shipping', messaging_destination_name: 'shipping' }),
      0.03,
    );
    assert.equal(synthetic.length, 0, 'all deliveries are children in the producer trace');

    assert.equal(
      await metricSum(metrics, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_count`),
      0,
    );
    clock.advance(10_000);
    linker.sweep();
    assert.equal(
      await metricSum(metrics, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_count`),
      1,
    );
    assert.equal(
      await metricSum(metrics, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_sum`),
      3,
    );
    assert.equal(await metricSum(metrics, METRIC_UNCONSUMED), 0);
  });

  it('labels deliveries without a named group with an empty group, as the wrappers do, and still tells the queues apart', async () => {
    const { clock, metrics, linker } = setup();
    const pub = publishSpan({ service: 'orders', destination: 'orders', messageId: 'm-rq', at: 0 });
    const billing = processSpan(pub, { service: 'billing', destination: 'billing', at: 5 });
    const audit = processSpan(pub, { service: 'audit', destination: 'audit', at: 6 });
    const lost = publishSpan({ service: 'orders', destination: 'orders', messageId: 'never-seen', at: 0 });
    linker.ingest([
      pub,
      billing,
      audit,
      processSpan(lost, { service: 'billing', destination: 'billing', at: 9 }),
    ]);
    assert.equal(await hopCount(metrics, { messaging_consumer_group_name: '' }), 2);
    assert.equal(await hopCount(metrics, { messaging_destination_name: 'billing' }), 1);
    clock.advance(10_000);
    linker.sweep();
    assert.equal(
      await metricSum(metrics, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_sum`),
      2,
      'two queues are two groups inside the linker',
    );
    assert.equal(
      await metricSum(metrics, METRIC_ORPHAN_DELIVERIES, {
        messaging_destination_name: 'billing',
        messaging_consumer_group_name: '',
      }),
      1,
    );
  });

  it('links consumer spans that arrive before their producer span', async () => {
    const { clock, metrics, linker } = setup();
    const pub = publishSpan({ service: 'orders', destination: 'orders', at: 0 });
    const a = processSpan(pub, { service: 'billing', destination: 'billing', at: 25 });
    const b = processSpan(pub, { service: 'shipping', destination: 'shipping', mode: 'link', at: 40 });
    linker.ingest([a, b]);
    assert.equal(await hopCount(metrics), 0);
    clock.advance(4_000);
    linker.sweep();
    linker.ingest([pub]);
    assert.equal(await hopCount(metrics), 2);
    assert.ok(Math.abs((await hopSum(metrics)) - 0.065) < 1e-9);
    clock.advance(20_000);
    linker.sweep();
    assert.equal(await metricSum(metrics, METRIC_ORPHAN_DELIVERIES), 0);
    assert.equal(
      await metricSum(metrics, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_sum`),
      2,
    );
  });

  it('emits a synthetic deliver span in the producer trace for a delivery in link mode', () => {
    const { synthetic, linker } = setup();
    const pub = publishSpan({ service: 'orders', destination: 'orders', correlationId: 'c9', at: 0 });
    const consumer = processSpan(pub, {
      service: 'billing',
      destination: 'billing-q',
      group: 'billing',
      mode: 'link',
      at: 10,
      durationMs: 5,
      outcome: 'ack',
    });
    linker.ingest([consumer, pub]);
    assert.equal(synthetic.length, 1);
    const s = synthetic[0];
    assert.equal(s.traceId, pub.traceId);
    assert.equal(s.parentSpanId, pub.spanId);
    assert.notEqual(s.spanId, consumer.spanId);
    assert.equal(s.name, 'deliver billing-q');
    assert.equal(s.kind, 'internal');
    assert.equal(s.serviceName, 'billing');
    assert.equal(s.startTimeUnixNano, consumer.startTimeUnixNano);
    assert.equal(s.endTimeUnixNano, consumer.endTimeUnixNano);
    assert.deepEqual(s.links, [{ traceId: consumer.traceId, spanId: consumer.spanId, attributes: {} }]);
    assert.equal(s.attributes['messaging.consumer.group.name'], 'billing');
    assert.equal(s.attributes['hoptrace.outcome'], 'ack');
    assert.equal(s.attributes['hoptrace.hop.latency_ms'], 10);
    assert.equal(s.attributes['hoptrace.link.match'], 'link');
    assert.equal(s.attributes['hoptrace.synthetic'], true);
  });

  it('counts a delivery whose publish never arrives as one orphan after the link window', async () => {
    const { clock, metrics, linker } = setup();
    const unseen = publishSpan({ service: 'orders', destination: 'orders', messageId: 'lost', at: 0 });
    linker.ingest([
      processSpan(unseen, { service: 'billing', destination: 'billing', group: 'billing', at: 3 }),
    ]);
    clock.advance(4_999);
    linker.sweep();
    assert.equal(await metricSum(metrics, METRIC_ORPHAN_DELIVERIES), 0);
    clock.advance(1);
    linker.sweep();
    assert.equal(
      await metricSum(metrics, METRIC_ORPHAN_DELIVERIES, { messaging_consumer_group_name: 'billing' }),
      1,
    );
    assert.equal(linker.stats().pending_delivery, 0);
  });

  it('counts a publish without deliveries before the deadline as unconsumed, and fan-out 0', async () => {
    const { clock, metrics, linker } = setup();
    const pub = publishSpan({ service: 'orders', destination: 'orders', at: 0 });
    const late = publishSpan({ service: 'orders', destination: 'orders', at: 1 });
    linker.ingest([pub]);
    clock.advance(5_000);
    linker.ingest([late, processSpan(late, { service: 'billing', destination: 'billing', at: 5 })]);
    clock.advance(5_000);
    linker.sweep();
    assert.equal(await metricSum(metrics, METRIC_UNCONSUMED, { producer_service: 'orders' }), 1);
    assert.equal(
      await metricSum(metrics, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_count`),
      1,
    );
    assert.equal(
      await metricSum(metrics, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_sum`),
      0,
    );
    clock.advance(5_000);
    linker.sweep();
    assert.equal(await metricSum(metrics, METRIC_UNCONSUMED), 1, 'the delivered one is not unconsumed');
  });

  it('tells duplicates from redeliveries by attempt number', async () => {
    const { metrics, linker } = setup();
    const pub = publishSpan({
      service: 'orders',
      destination: 'orders',
      messageId: 'm-dup',
      correlationId: 'c-dup',
      at: 0,
    });
    const first = processSpan(pub, {
      service: 'billing',
      destination: 'billing',
      group: 'billing',
      attempt: 1,
      outcome: 'ack',
      at: 5,
    });
    const again = processSpan(pub, {
      service: 'billing',
      destination: 'billing',
      group: 'billing',
      attempt: 1,
      outcome: 'ack',
      at: 50,
    });
    const otherGroup = processSpan(pub, {
      service: 'audit',
      destination: 'audit',
      group: 'audit',
      attempt: 1,
      at: 6,
    });
    linker.ingest([pub, first, again, otherGroup, first]); // `first` exported twice: ignored
    assert.equal(await metricSum(metrics, METRIC_DUPLICATE_DELIVERIES), 1);
    assert.equal(
      await metricSum(metrics, METRIC_DUPLICATE_DELIVERIES, { messaging_consumer_group_name: 'billing' }),
      1,
    );
    assert.equal(await hopCount(metrics), 2, 'hop latency once per group');
    const journey = linker.journey('c-dup');
    assert.equal(journey?.counts.duplicates, 1);
    assert.equal(journey?.counts.deliveries, 3);
  });

  it('treats bus retries (attempt 1..n, outcome retry then dead_letter) as redeliveries and counts one dead-letter hop', async () => {
    const { metrics, linker } = setup();
    const pub = publishSpan({
      service: 'orders',
      system: 'hoptrace.bus',
      destination: 'order.placed',
      messageId: 'm-r',
      correlationId: 'c-r',
      at: 0,
    });
    const spec = { service: 'billing', destination: 'order.placed', group: 'billing' };
    const attempts = [
      processSpan(pub, { ...spec, attempt: 1, outcome: 'retry', at: 1 }),
      processSpan(pub, { ...spec, attempt: 2, outcome: 'retry', at: 20 }),
      processSpan(pub, {
        ...spec,
        attempt: 3,
        outcome: 'dead_letter',
        deadLetterReason: 'max_attempts',
        at: 60,
      }),
    ];
    linker.ingest([attempts[2], pub, attempts[0], attempts[1]]); // out of order
    assert.equal(await metricSum(metrics, METRIC_DUPLICATE_DELIVERIES), 0);
    assert.equal(
      await metricSum(metrics, METRIC_DEAD_LETTER_HOPS, {
        reason: 'max_attempts',
        messaging_destination_name: 'order.placed',
      }),
      1,
    );
    assert.equal(await hopCount(metrics), 1);
    assert.equal(await hopSum(metrics), 0.001, 'the latency of attempt 1');
    const delivery = linker.journey('c-r')?.publishes[0].deliveries[0];
    assert.equal(delivery?.retries, 2);
    assert.deepEqual(
      delivery?.attempts.map((a) => [a.attempt, a.outcome]),
      [
        [1, 'retry'],
        [2, 'retry'],
        [3, 'dead_letter'],
      ],
    );
    assert.equal(delivery?.outcome, 'dead_letter');
    assert.deepEqual(delivery?.deadLetter, { reason: 'max_attempts', source: 'order.placed' });
  });

  it('without attempt numbers: a delivery after requeue is a redelivery, after ack a duplicate', async () => {
    const { metrics, linker } = setup();
    const pub = publishSpan({ service: 'orders', destination: 'orders', messageId: 'm-q', at: 0 });
    const spec = { service: 'billing', destination: 'billing', group: 'billing' };
    linker.ingest([
      pub,
      processSpan(pub, { ...spec, outcome: 'requeue', at: 1 }),
      processSpan(pub, { ...spec, outcome: 'ack', at: 2 }),
    ]);
    assert.equal(await metricSum(metrics, METRIC_DUPLICATE_DELIVERIES), 0);
    linker.ingest([processSpan(pub, { ...spec, outcome: 'ack', at: 3 })]);
    assert.equal(await metricSum(metrics, METRIC_DUPLICATE_DELIVERIES), 1);
  });

  it('finds duplicates across two publishes of one message ID (a producer retry)', async () => {
    const { metrics, linker } = setup();
    const first = publishSpan({ service: 'orders', destination: 'orders', messageId: 'same', at: 0 });
    const second = publishSpan({ service: 'orders', destination: 'orders', messageId: 'same', at: 3 });
    const spec = { service: 'billing', destination: 'billing', group: 'billing', outcome: 'ack' };
    linker.ingest([
      first,
      second,
      processSpan(first, { ...spec, at: 4 }),
      processSpan(second, { ...spec, at: 8 }),
    ]);
    assert.equal(await metricSum(metrics, METRIC_DUPLICATE_DELIVERIES), 1);
  });

  it('counts a dead-letter hop once when both the rejecting consumer and the DLQ consumer are seen', async () => {
    const { clock, metrics, linker } = setup();
    const pub = publishSpan({
      service: 'orders',
      destination: 'orders',
      messageId: 'm-dl',
      correlationId: 'c-dl',
      at: 0,
    });
    linker.ingest([
      pub,
      processSpan(pub, {
        service: 'billing',
        destination: 'billing',
        outcome: 'dead_letter',
        deadLetterReason: 'rejected',
        at: 2,
      }),
      processSpan(pub, {
        service: 'dlq-reader',
        destination: 'billing.dlq',
        outcome: 'ack',
        deadLetterReason: 'rejected',
        deadLetterSource: 'billing',
        at: 9,
      }),
    ]);
    assert.equal(await metricSum(metrics, METRIC_DEAD_LETTER_HOPS), 1);
    assert.equal(
      await metricSum(metrics, METRIC_DEAD_LETTER_HOPS, {
        messaging_destination_name: 'billing',
        reason: 'rejected',
      }),
      1,
    );
    assert.equal(await hopCount(metrics), 1, 'no hop latency for the dead-letter queue delivery');
    clock.advance(10_000);
    linker.sweep();
    assert.equal(
      await metricSum(metrics, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_sum`),
      1,
    );
  });

  it('matches by message ID when the consumer is not a child of the publish, and by correlation ID last', async () => {
    const { clock, metrics, synthetic, linker } = setup();
    const pub = publishSpan({
      service: 'orders',
      destination: 'orders',
      messageId: 'mid-1',
      correlationId: 'c-m',
      routingKey: 'billing',
      at: 0,
    });
    const byId = processSpan(pub, { service: 'billing', destination: 'billing', mode: 'none', at: 4 });
    linker.ingest([pub, byId]);
    assert.equal(synthetic.length, 1);
    assert.equal(synthetic[0].attributes['hoptrace.link.match'], 'message_id');

    const lost = processSpan(pub, {
      service: 'billing',
      destination: 'billing',
      group: 'late',
      mode: 'none',
      messageId: 'unknown-id',
      at: 6,
    });
    linker.ingest([lost]);
    assert.equal(await hopCount(metrics), 1, 'waits the link window before the correlation-ID fallback');
    clock.advance(5_000);
    linker.sweep();
    assert.equal(await hopCount(metrics), 2);
    assert.equal(synthetic[1].attributes['hoptrace.link.match'], 'correlation_id');
    assert.equal(await metricSum(metrics, METRIC_ORPHAN_DELIVERIES), 0);
  });

  it('links each message of a Kafka batch span through its link', async () => {
    const { metrics, synthetic, linker } = setup();
    const pubs = [0, 1, 2].map((i) =>
      publishSpan({ service: 'orders', system: 'kafka', destination: 'orders', messageId: `k${i}`, at: i }),
    );
    const batch = batchSpan(pubs, { service: 'billing', destination: 'orders', group: 'billing', at: 10 });
    linker.ingest([pubs[0], batch, pubs[2]]);
    assert.equal(await hopCount(metrics), 2);
    linker.ingest([pubs[1]]);
    assert.equal(await hopCount(metrics), 3);
    assert.ok(Math.abs((await hopSum(metrics)) - 0.027) < 1e-9);
    assert.deepEqual(
      synthetic.map((s) => s.parentSpanId).sort(),
      pubs.map((p) => p.spanId).sort(),
      'one synthetic span per message, each under its producer',
    );
  });

  it("does not count a BullMQ flow parent's links to its children as deliveries of them", async () => {
    const { metrics, linker } = setup();
    const parent = publishSpan({
      service: 'orders',
      system: 'bullmq',
      destination: 'ship',
      messageId: 'p',
      at: 0,
    });
    const children = [1, 2].map((i) =>
      publishSpan({ service: 'orders', system: 'bullmq', destination: 'pick', messageId: `c${i}`, at: i }),
    );
    const picks = children.map((c) => processSpan(c, { service: 'warehouse', destination: 'pick', at: 5 }));
    const ship = processSpan(parent, { service: 'shipping', destination: 'ship', at: 20 });
    ship.links.push(
      { traceId: ship.traceId, spanId: ship.parentSpanId!, attributes: {} },
      ...children.map((c) => ({
        traceId: c.traceId,
        spanId: c.spanId,
        attributes: { [ATTR_HOPTRACE_LINK_KIND]: LINK_KIND_FLOW_CHILD },
      })),
    );
    linker.ingest([parent, ...children, ...picks, ship]);
    assert.equal(await hopCount(metrics), 3, 'one hop per message: two picks, one ship');
    assert.equal(await hopCount(metrics, { consumer_service: 'shipping' }), 1);
  });

  it('builds the journey tree with follow-on publishes made while handling', () => {
    const { linker } = setup();
    const placed = publishSpan({
      service: 'checkout',
      destination: 'order.placed',
      messageId: 'o1',
      correlationId: 'flow-1',
      at: 0,
    });
    const billing = processSpan(placed, {
      service: 'billing',
      destination: 'order.placed',
      group: 'billing',
      outcome: 'ack',
      at: 5,
      durationMs: 20,
    });
    const http = internalSpan(billing, 'billing', 8);
    const paid = publishSpan({
      service: 'billing',
      destination: 'payment.processed',
      messageId: 'p1',
      correlationId: 'flow-1',
      at: 10,
      parent: http,
    });
    const shipping = processSpan(paid, {
      service: 'shipping',
      destination: 'payment.processed',
      group: 'shipping',
      mode: 'link',
      outcome: 'ack',
      at: 40,
    });
    const shipped = publishSpan({
      service: 'shipping',
      destination: 'order.shipped',
      messageId: 's1',
      correlationId: 'flow-1',
      at: 41,
      parent: shipping,
    });
    const email = processSpan(placed, {
      service: 'email',
      destination: 'order.placed',
      group: 'email',
      outcome: 'ack',
      at: 7,
    });
    linker.ingest([shipped, shipping, paid, http, billing, email, placed]);

    const j = linker.journey('flow-1');
    assert.ok(j);
    assert.equal(j.correlationId, 'flow-1');
    assert.equal(j.publishes.length, 1);
    const root = j.publishes[0];
    assert.equal(root.destination, 'order.placed');
    assert.deepEqual(root.deliveries.map((d) => d.group).sort(), ['billing', 'email']);
    const billingNode = root.deliveries.find((d) => d.group === 'billing')!;
    assert.equal(billingNode.hopLatencyMs, 5);
    assert.equal(billingNode.publishes.length, 1);
    assert.equal(billingNode.publishes[0].destination, 'payment.processed');
    const shippingNode = billingNode.publishes[0].deliveries[0];
    assert.equal(shippingNode.service, 'shipping');
    assert.equal(shippingNode.hopLatencyMs, 30);
    assert.equal(shippingNode.publishes[0].destination, 'order.shipped');
    assert.deepEqual(j.counts, {
      publishes: 3,
      deliveries: 3,
      retries: 0,
      deadLetters: 0,
      duplicates: 0,
      orphans: 0,
      unconsumed: 0,
    });
    assert.equal(j.traceIds.length, 2, 'producer trace + the link-mode consumer trace');

    const byMessage = linker.messageJourney('p1');
    assert.equal(byMessage?.messageId, 'p1');
    assert.equal(byMessage?.publishes.length, 1);
    assert.equal(byMessage?.publishes[0].deliveries[0].service, 'shipping');
    assert.deepEqual(
      linker.recentJourneys(5).map((s) => s.correlationId),
      ['flow-1'],
    );
  });

  it('evicts the oldest tracked publish past maxTrackedMessages and counts it', async () => {
    const { metrics, linker } = setup({ maxTrackedMessages: 2 });
    const pubs = [0, 1, 2].map((i) => publishSpan({ service: 'orders', destination: 'orders', at: i }));
    linker.ingest(pubs);
    assert.equal(linker.stats().publish, 2);
    assert.equal(await metricSum(metrics, METRIC_COLLECTOR_EVICTIONS, { kind: 'publish' }), 1);
    assert.equal(
      await metricSum(metrics, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_count`),
      1,
      'fan-out observed on eviction',
    );
    assert.equal(
      await metricSum(metrics, METRIC_UNCONSUMED),
      0,
      'an evicted publish is not called unconsumed',
    );
    linker.ingest([processSpan(pubs[0], { service: 'billing', destination: 'billing', at: 5 })]);
    assert.equal(await hopCount(metrics), 0, 'the evicted publish cannot be linked any more');
  });

  it('forgets publishes after the message TTL', () => {
    const { clock, linker } = setup();
    linker.ingest([publishSpan({ service: 'orders', destination: 'orders', at: 0 })]);
    clock.advance(59_999);
    linker.sweep();
    assert.equal(linker.stats().publish, 1);
    clock.advance(1);
    linker.sweep();
    assert.equal(linker.stats().publish, 0);
  });

  it('puts a dead letter republished to its own topic (original trace context kept) under the republish', async () => {
    const { clock, metrics, linker } = setup();
    const pub = publishSpan({
      service: 'orders',
      system: 'kafka',
      destination: 'orders',
      messageId: 'k-1',
      correlationId: 'c-k',
      at: 0,
    });
    const fraud = processSpan(pub, {
      service: 'fraud',
      destination: 'orders',
      group: 'fraud',
      attempt: 1,
      outcome: 'dead_letter',
      deadLetterReason: 'max_attempts',
      at: 2,
    });
    const republish = publishSpan({
      service: 'fraud',
      system: 'kafka',
      destination: 'orders.dlq',
      messageId: 'k-1',
      correlationId: 'c-k',
      at: 3,
      parent: fraud,
    });
    // The reader's parent is the original producer span: the dead-letter record kept its headers.
    const reader = processSpan(pub, {
      service: 'review',
      destination: 'orders.dlq',
      group: 'review',
      outcome: 'ack',
      deadLetterReason: 'max_attempts',
      deadLetterSource: 'orders',
      at: 10,
    });
    linker.ingest([pub, fraud, republish, reader]);
    clock.advance(10_000);
    linker.sweep();
    const journey = linker.journey('c-k');
    const dlq = journey?.publishes[0].deliveries[0].publishes[0];
    assert.equal(dlq?.destination, 'orders.dlq');
    assert.equal(dlq?.deliveries[0].group, 'review');
    assert.equal(dlq?.deliveries[0].attempts[0].matchedBy, 'message_id');
    assert.equal(journey?.counts.deadLetters, 1);
    assert.equal(await metricSum(metrics, METRIC_UNCONSUMED), 0);
    assert.equal(await metricSum(metrics, METRIC_DEAD_LETTER_HOPS), 1);
    assert.equal(
      await metricSum(metrics, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_sum`),
      2,
    );
  });

  it('keeps a RabbitMQ dead-letter queue delivery on the original publish, out of its fan-out', async () => {
    const { clock, metrics, linker } = setup();
    const pub = publishSpan({
      service: 'shop',
      destination: 'orders-x',
      routingKey: 'order.placed',
      messageId: 'r-1',
      correlationId: 'c-r1',
      at: 0,
    });
    linker.ingest([
      pub,
      processSpan(pub, {
        service: 'email',
        destination: 'email-q',
        outcome: 'dead_letter',
        deadLetterReason: 'rejected',
        at: 1,
      }),
      processSpan(pub, {
        service: 'audit',
        destination: 'email-q.dlq',
        outcome: 'ack',
        deadLetterReason: 'rejected',
        deadLetterSource: 'email-q',
        at: 5,
      }),
    ]);
    clock.advance(10_000);
    linker.sweep();
    assert.equal(
      await metricSum(metrics, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_sum`),
      1,
    );
    assert.equal(await metricSum(metrics, METRIC_DEAD_LETTER_HOPS), 1);
    const audit = linker.journey('c-r1')?.publishes[0].deliveries.find((d) => d.group === 'email-q.dlq');
    assert.equal(audit?.deadLetterQueue, true);
  });

  it('does not let a message ID on another destination take a delivery still waiting for its parent', () => {
    const { linker } = setup();
    const original = publishSpan({
      service: 'a',
      system: 'kafka',
      destination: 'orders',
      messageId: 'same-id',
      at: 0,
    });
    const own = publishSpan({
      service: 'a',
      system: 'kafka',
      destination: 'orders.retry',
      messageId: 'same-id',
      at: 5,
    });
    const consumer = processSpan(own, { service: 'b', destination: 'orders.retry', group: 'b', at: 8 });
    linker.ingest([original, consumer]);
    assert.equal(linker.stats().pending_delivery, 1, 'waits for its own publish');
    linker.ingest([own]);
    assert.equal(linker.stats().pending_delivery, 0);
    assert.equal(
      linker
        .messageJourney('same-id')
        ?.publishes.some((p) => p.deliveries[0]?.attempts[0].matchedBy === 'parent'),
      true,
    );
  });
});

describe('Linker: RPC and temporary destinations', () => {
  /** A reply consumed from a per-call exclusive queue, as the AMQP wrapper records it. */
  const temporary = (span: SpanRecord): SpanRecord => ({
    ...span,
    name: 'process (temporary)',
    attributes: {
      ...span.attributes,
      'messaging.destination.temporary': true,
      'messaging.destination.anonymous': true,
      'messaging.destination.template': '(temporary)',
    },
  });

  function rpcCall(n: number, replyQueue: string, mode: 'parent' | 'none' = 'parent') {
    const correlationId = `rpc-${n}`;
    const request = publishSpan({
      service: 'client',
      destination: 'amq.default',
      routingKey: 'rpc_queue',
      messageId: `req-${n}`,
      correlationId,
      at: n * 100,
    });
    const served = processSpan(request, {
      service: 'server',
      destination: 'rpc_queue',
      outcome: 'ack',
      at: n * 100 + 2,
    });
    const reply = publishSpan({
      service: 'server',
      destination: 'amq.default',
      routingKey: replyQueue,
      messageId: `rep-${n}`,
      correlationId,
      at: n * 100 + 3,
      parent: served,
    });
    const replied = processSpan(reply, {
      service: 'client',
      destination: replyQueue.startsWith('amq.rabbitmq.reply-to.') ? 'amq.rabbitmq.reply-to' : replyQueue,
      outcome: 'ack',
      at: n * 100 + 5,
      mode,
      messageId: mode === 'none' ? null : undefined,
    });
    return {
      spans: [request, served, reply, replied.name.includes('amq.gen-') ? temporary(replied) : replied],
      correlationId,
    };
  }

  it('a call with a server-named reply queue is one journey; its labels and map node are the placeholder', async () => {
    const { clock, metrics, linker } = setup();
    const calls = [1, 2, 3].map((n) => rpcCall(n, `amq.gen-reply${n}`));
    linker.ingest(calls.flatMap((c) => c.spans));
    for (const { correlationId } of calls) {
      const journey = linker.journey(correlationId);
      assert.equal(journey?.publishes.length, 1, 'the reply is a follow-on publish of the request');
      const served = journey?.publishes[0]?.deliveries[0];
      assert.equal(served?.destination, 'rpc_queue');
      const replied = served?.publishes[0]?.deliveries[0];
      assert.match(String(replied?.destination), /^amq\.gen-reply\d$/, 'journeys keep the real name');
      assert.equal(journey?.counts.orphans, 0);
    }
    assert.equal(await hopCount(metrics, { messaging_destination_name: '(temporary)' }), 3);
    assert.equal(await hopCount(metrics, { messaging_destination_name: 'amq.gen-reply1' }), 0);
    clock.advance(10_000);
    linker.sweep();
    const map = buildFlowMap(linker, { now: clock.now(), windowMs: 60_000 });
    const destinations = map.nodes
      .filter((n) => n.kind === 'destination')
      .map((n) => n.name)
      .sort();
    assert.deepEqual(destinations, ['(temporary)', 'amq.default', 'rpc_queue']);
  });

  it('a reply through direct reply-to matches its publish by correlation ID when no span context links them', async () => {
    const { metrics, linker } = setup();
    const { spans, correlationId } = rpcCall(7, 'amq.rabbitmq.reply-to.g1h2AA==', 'none');
    linker.ingest(spans);
    const replied = linker.journey(correlationId)?.publishes[0]?.deliveries[0]?.publishes[0]?.deliveries[0];
    assert.equal(replied?.destination, 'amq.rabbitmq.reply-to');
    assert.equal(replied?.attempts[0]?.matchedBy, 'correlation_id');
    assert.equal(await hopCount(metrics, { messaging_destination_name: '(temporary)' }), 1);
    assert.equal(await metricSum(metrics, METRIC_ORPHAN_DELIVERIES), 0);
  });
});
