/**
 * Every way the client hands out Topics and Subscriptions gives traced ones, and every publish method
 * goes through the traced publisher: createTopic, createSubscription, getSubscriptions,
 * topic.subscription, publish, publishJSON, publishMessage with a callback.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message, Subscription } from '@google-cloud/pubsub';
import { SpanKind } from '@opentelemetry/api';
import { pubsubFixture, until } from './helpers.js';

describe('Pub/Sub client API under instrumentPubSub', () => {
  it('traces topics and subscriptions however they were obtained, and every publish method', async (t) => {
    const fx = await pubsubFixture(t);
    if (!fx) return;
    const opened: Subscription[] = [];
    try {
      const [topic] = await fx.pubsub.createTopic(fx.name('api'));
      const [created] = await fx.pubsub.createSubscription(topic, fx.name('api-created'));
      const fromTopic = topic.subscription(fx.name('api-from-topic'));
      await fromTopic.create();
      const [listed] = await topic.getSubscriptions();
      assert.equal(listed.length, 2);
      const seen: string[] = [];
      const listen = (subs: Subscription[]) => {
        for (const sub of subs) {
          sub.on('message', (m: Message) => {
            seen.push(`${sub.name.split('/').pop()}:${m.data.toString()}`);
            m.ack();
          });
          opened.push(sub);
        }
      };
      listen([created, fromTopic]);
      await topic.publish(Buffer.from('publish'));
      await topic.publishJSON({ kind: 'json' });
      await new Promise<void>((resolve, reject) =>
        topic.publishMessage({ data: Buffer.from('callback') }, (err) => (err ? reject(err) : resolve())),
      );
      await until(() => seen.length === 6, 'six deliveries');
      for (const sub of opened.splice(0)) await sub.close();
      // The Subscriptions getSubscriptions returned are traced too.
      listen(listed);
      await topic.publishMessage({ data: Buffer.from('listed') });
      await until(() => seen.length === 8, 'two more deliveries');
      const spans = fx.tracing.spans();
      assert.equal(spans.filter((s) => s.kind === SpanKind.PRODUCER).length, 4);
      const consumers = spans.filter((s) => s.kind === SpanKind.CONSUMER);
      assert.equal(consumers.length, 8);
      assert.ok(consumers.every((s) => s.attributes['hoptrace.outcome'] === 'ack'));
    } finally {
      for (const sub of opened) await sub.close().catch(() => {});
      await fx.close();
    }
  });
});
