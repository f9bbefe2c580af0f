/**
 * The caller's message attributes arrive unchanged, up to Pub/Sub's limits (100 attributes, 256-byte
 * keys, 1024-byte values): hoptrace adds its own only where they fit, and never touches the caller's
 * object. Ordering keys are kept, and so is the order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '@google-cloud/pubsub';
import { SpanKind } from '@opentelemetry/api';
import { pubsubFixture, until } from './helpers.js';

function attributes(count: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const key = `k${String(i).padStart(3, '0')}`.padEnd(256, 'k');
    out[key] = `v${i}`.padEnd(1024, 'v');
  }
  return Object.freeze(out);
}

describe('Pub/Sub message attributes', () => {
  it('keeps the caller attributes exactly, at the maximum count and size, adding only what fits', async (t) => {
    const fx = await pubsubFixture(t);
    if (!fx) return;
    try {
      const topic = await fx.topic('attrs');
      const sub = await fx.subscription(topic, 'attrs-sub');
      const received = new Map<string, Message>();
      fx.listen(sub, (message: Message) => {
        received.set(message.data.toString(), message);
        message.ack();
      });
      const cases = {
        full: attributes(100),
        room2: attributes(98),
        few: Object.freeze({ tenant: 'eu', kind: 'order' }),
      };
      const publisher = fx.pubsub.topic(topic.name);
      for (const [name, attrs] of Object.entries(cases)) {
        await publisher.publishMessage({ data: Buffer.from(name), attributes: attrs });
      }
      await until(() => received.size === 3, 'three messages');

      const full = received.get('full')!;
      assert.deepEqual(full.attributes, cases.full, '100 caller attributes: nothing added');
      const room2 = received.get('room2')!;
      assert.equal(Object.keys(room2.attributes).length, 100);
      for (const [key, value] of Object.entries(cases.room2)) assert.equal(room2.attributes[key], value);
      assert.match(room2.attributes.traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.equal(typeof room2.attributes['x-correlation-id'], 'string');
      const few = received.get('few')!;
      assert.equal(few.attributes.tenant, 'eu');
      assert.equal(few.attributes.kind, 'order');
      assert.deepEqual(Object.keys(few.attributes).sort(), [
        'googclient_traceparent',
        'kind',
        'tenant',
        'traceparent',
        'x-correlation-id',
      ]);
      assert.equal(few.attributes.googclient_traceparent, few.attributes.traceparent);

      const spans = fx.tracing.spans();
      const producers = new Map(
        spans
          .filter((s) => s.kind === SpanKind.PRODUCER)
          .map((s) => [s.attributes['messaging.message.id'], s]),
      );
      const consumers = new Map(
        spans
          .filter((s) => s.kind === SpanKind.CONSUMER)
          .map((s) => [s.attributes['messaging.message.id'], s]),
      );
      assert.equal(producers.get(full.id)!.attributes['hoptrace.propagation.dropped'], 2);
      assert.equal(producers.get(room2.id)!.attributes['hoptrace.propagation.dropped'], undefined);
      // Without room for the trace context the delivery starts its own trace; the others join theirs.
      assert.notEqual(
        consumers.get(full.id)!.spanContext().traceId,
        producers.get(full.id)!.spanContext().traceId,
      );
      for (const message of [room2, few]) {
        assert.equal(
          consumers.get(message.id)!.spanContext().traceId,
          producers.get(message.id)!.spanContext().traceId,
        );
      }
    } finally {
      await fx.close();
    }
  });

  it('keeps ordering keys and the order of messages that share one', async (t) => {
    const fx = await pubsubFixture(t);
    if (!fx) return;
    try {
      const topic = await fx.topic('ordered');
      const sub = await fx.subscription(topic, 'ordered-sub', { enableMessageOrdering: true });
      const seen: string[] = [];
      fx.listen(sub, (message: Message) => {
        seen.push(`${message.orderingKey}:${message.data.toString()}`);
        message.ack();
      });
      const publisher = fx.pubsub.topic(topic.name, { messageOrdering: true });
      const sends: Promise<string>[] = [];
      for (let i = 0; i < 5; i++) {
        sends.push(publisher.publishMessage({ data: Buffer.from(String(i)), orderingKey: 'customer-1' }));
      }
      await Promise.all(sends);
      await until(() => seen.length === 5, 'five messages');
      assert.deepEqual(
        seen,
        ['0', '1', '2', '3', '4'].map((i) => `customer-1:${i}`),
      );
      const producers = fx.tracing.spans().filter((s) => s.kind === SpanKind.PRODUCER);
      assert.equal(producers.length, 5);
      for (const span of producers) {
        assert.equal(span.attributes['messaging.gcp_pubsub.message.ordering_key'], 'customer-1');
      }
    } finally {
      await fx.close();
    }
  });
});
