/**
 * Flow control and batching keep their behaviour under hoptrace: a subscriber limited to one outstanding
 * message never runs two listeners at once, and a flow-controlled, batching publisher sends every
 * message, each with its own `send` span.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '@google-cloud/pubsub';
import { SpanKind } from '@opentelemetry/api';
import { pubsubFixture, until } from './helpers.js';

describe('Pub/Sub flow control and batching', () => {
  it('keeps subscriber flow control and publisher batching and flow control', async (t) => {
    const fx = await pubsubFixture(t);
    if (!fx) return;
    try {
      const topic = await fx.topic('flow');
      const subName = await fx.subscription(topic, 'flow-sub');
      const sub = fx.pubsub.subscription(subName, {
        flowControl: { maxMessages: 1, allowExcessMessages: false },
      });
      let running = 0;
      let maxRunning = 0;
      const done: string[] = [];
      sub.on('message', async (message: Message) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        done.push(message.data.toString());
        message.ack();
      });
      const publisher = fx.pubsub
        .topic(topic.name, { batching: { maxMessages: 3, maxMilliseconds: 20 } })
        .flowControlled();
      for (let i = 0; i < 6; i++) await publisher.publish({ data: Buffer.from(String(i)) });
      const ids = await publisher.all();
      assert.equal(ids.length, 6);
      await until(() => done.length === 6, 'six messages', 15_000);
      await sub.close();
      assert.equal(maxRunning, 1, 'one message at a time');
      const spans = fx.tracing.spans();
      const sends = spans.filter((s) => s.kind === SpanKind.PRODUCER);
      assert.equal(sends.length, 6);
      assert.deepEqual(sends.map((s) => s.attributes['messaging.message.id']).sort(), [...ids].sort());
      const processes = spans.filter((s) => s.kind === SpanKind.CONSUMER);
      assert.equal(processes.length, 6);
      assert.ok(processes.every((s) => s.attributes['hoptrace.outcome'] === 'ack'));
    } finally {
      await fx.close();
    }
  });
});
