import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AttemptTracker,
  addClientTraceparent,
  budgetAttributes,
  deadLetterSourceOf,
  incomingAttributes,
  maxDeliveryAttemptsOf,
  PUBSUB_LIMITS,
  shortName,
} from './utils.js';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
/** What the core's startPublish writes on a first hop with `brokerPublishTime` (the lean set). */
const written = (extra: Record<string, string> = {}) => ({
  traceparent: TP,
  'x-correlation-id': 'c-1',
  ...extra,
});

describe('pubsub utils', () => {
  it('shortens full topic and subscription names only', () => {
    assert.equal(shortName('projects/p/topics/orders'), 'orders');
    assert.equal(shortName('projects/p/subscriptions/billing'), 'billing');
    assert.equal(shortName('orders'), 'orders');
    assert.equal(shortName(undefined), 'unknown');
  });

  it('adds the lean set the core wrote: trace context and correlation ID', () => {
    const { attributes, dropped } = budgetAttributes({ a: '1' }, { a: '1', ...written() });
    assert.deepEqual(attributes, { a: '1', traceparent: TP, 'x-correlation-id': 'c-1' });
    assert.equal(dropped, 0);
  });

  it('keeps a later hop origin and baggage with other entries', () => {
    const { attributes } = budgetAttributes(
      {},
      written({ 'x-hoptrace-origin-at': '1690000000000', baggage: 'correlation.id=c-1,tenant=eu' }),
    );
    assert.equal(attributes['x-hoptrace-origin-at'], '1690000000000');
    assert.equal(attributes.baggage, 'correlation.id=c-1,tenant=eu');
  });

  it('never changes or drops a caller attribute and stays within 100 attributes', () => {
    const caller: Record<string, string> = {};
    for (let i = 0; i < 99; i++) caller[`k${i}`] = 'v';
    caller.traceparent = 'caller-value';
    const { attributes, dropped } = budgetAttributes(caller, {
      ...caller,
      ...written(),
      traceparent: 'caller-value',
    });
    assert.equal(Object.keys(attributes).length, PUBSUB_LIMITS.attributes);
    assert.equal(attributes.traceparent, 'caller-value');
    assert.equal(dropped, 1);
    for (const [k, v] of Object.entries(caller)) assert.equal(attributes[k], v);
  });

  it('drops values above the size limit', () => {
    const { attributes, dropped } = budgetAttributes({}, written({ baggage: `tenant=${'x'.repeat(1100)}` }));
    assert.equal(attributes.baggage, undefined);
    assert.equal(dropped, 1);
  });

  it('writes googclient_traceparent only with room and none set', () => {
    const attrs: Record<string, unknown> = { traceparent: TP };
    assert.equal(addClientTraceparent(attrs, TP), true);
    assert.equal(attrs.googclient_traceparent, TP);
    assert.equal(addClientTraceparent({ googclient_traceparent: 'x' }, TP), false);
    const full: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) full[`k${i}`] = 'v';
    assert.equal(addClientTraceparent(full, TP), false);
  });

  it("reads the client's googclient_traceparent when there is no traceparent", () => {
    assert.equal(incomingAttributes({ googclient_traceparent: TP }).traceparent, TP);
    const own = { traceparent: TP, googclient_traceparent: 'other' };
    assert.equal(incomingAttributes(own), own);
  });

  it('reads the source subscription Pub/Sub writes on a dead letter', () => {
    assert.equal(
      deadLetterSourceOf({ CloudPubSubDeadLetterSourceSubscription: 'projects/p/subscriptions/billing' }),
      'billing',
    );
    assert.equal(deadLetterSourceOf({}), undefined);
  });

  it('reads the attempt limit of a dead-letter policy (5 when unset)', () => {
    assert.equal(
      maxDeliveryAttemptsOf({ deadLetterTopic: 'projects/p/topics/dl', maxDeliveryAttempts: 7 }),
      7,
    );
    assert.equal(
      maxDeliveryAttemptsOf({ deadLetterTopic: 'projects/p/topics/dl', maxDeliveryAttempts: 0 }),
      5,
    );
    assert.equal(maxDeliveryAttemptsOf({ deadLetterTopic: '' }), undefined);
    assert.equal(maxDeliveryAttemptsOf(null), undefined);
  });

  it('counts redeliveries per message ID, bounded, forgetting acked ones', () => {
    const tracker = new AttemptTracker(2);
    assert.equal(tracker.delivered('a'), 1);
    assert.equal(tracker.delivered('a'), 2);
    tracker.delivered('b');
    tracker.delivered('c');
    assert.equal(tracker.size, 2);
    assert.equal(tracker.delivered('a'), 1, 'the oldest was forgotten');
    tracker.forget('c');
    assert.equal(tracker.delivered('c'), 1);
  });
});
