/**
 * Google's Pub/Sub fake (pstest): fan-out with attributes, and the two places where it is known to
 * differ from Pub/Sub (docs/stack.md cites this file for both).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Message, PubSub } from '@google-cloud/pubsub';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { uniqueName, waitFor } from '../../helpers/stack.js';

// The client would otherwise probe for a GCE metadata server it never needs against the emulator.
process.env.METADATA_SERVER_DETECTION ??= 'none';

function client(): PubSub {
  return new PubSub({
    projectId: 'hoptrace-test',
    apiEndpoint: stackEndpoint('HOPTRACE_PUBSUB_EMULATOR_HOST'),
    emulatorMode: true,
  });
}

test('Pub/Sub fake: one publish reaches two subscriptions with its attributes; acked, it is not redelivered', async (t) => {
  const pubsub = client();
  t.after(() => pubsub.close());
  if (!(await requireServer(t, 'Pub/Sub fake', () => pubsub.getTopics()))) return;
  const [topic] = await pubsub.createTopic(uniqueName('stack-smoke'));
  t.after(() => topic.delete().catch(() => {}));
  const received = new Map<string, Message[]>();
  for (const name of ['a', 'b']) {
    const [subscription] = await topic.createSubscription(uniqueName(`stack-smoke-${name}`));
    t.after(() =>
      subscription
        .close()
        .then(() => subscription.delete())
        .catch(() => {}),
    );
    received.set(name, []);
    subscription.on('message', (message: Message) => {
      received.get(name)!.push(message);
      message.ack();
    });
  }
  await topic.publishMessage({ data: Buffer.from('order-1'), attributes: { 'x-correlation-id': 'c-1' } });

  await waitFor(async () => [...received.values()].every((list) => list.length >= 1), {
    what: 'the message on both subscriptions',
    timeoutMs: 10_000,
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const [name, messages] of received) {
    assert.equal(messages.length, 1, `subscription ${name}: one delivery, no redelivery after ack`);
    assert.equal(messages[0].data.toString(), 'order-1');
    assert.deepEqual(messages[0].attributes, { 'x-correlation-id': 'c-1' });
  }
});

test('pstest differs from Pub/Sub: maxDeliveryAttempts 2 is accepted and retry backoff is not applied', async (t) => {
  const pubsub = client();
  t.after(() => pubsub.close());
  if (!(await requireServer(t, 'Pub/Sub fake', () => pubsub.getTopics()))) return;
  const [topic] = await pubsub.createTopic(uniqueName('stack-differs'));
  const [deadLetters] = await pubsub.createTopic(uniqueName('stack-differs-dlq'));
  t.after(() => Promise.all([topic.delete(), deadLetters.delete()]).catch(() => {}));
  // Pub/Sub rejects maxDeliveryAttempts outside 5..100; the fake takes 2.
  const [subscription] = await topic.createSubscription(uniqueName('stack-differs'), {
    deadLetterPolicy: { deadLetterTopic: deadLetters.name, maxDeliveryAttempts: 2 },
    retryPolicy: { minimumBackoff: { seconds: 10 }, maximumBackoff: { seconds: 20 } },
  });
  t.after(() =>
    subscription
      .close()
      .then(() => subscription.delete())
      .catch(() => {}),
  );
  const [metadata] = await subscription.getMetadata();
  assert.equal(metadata.deadLetterPolicy?.maxDeliveryAttempts, 2);

  const deliveries: { attempt: number; at: number }[] = [];
  subscription.on('message', (message: Message) => {
    deliveries.push({ attempt: message.deliveryAttempt, at: Date.now() });
    message.nack();
  });
  await topic.publishMessage({ data: Buffer.from('x') });
  await waitFor(async () => deliveries.length >= 2, { what: 'a redelivery after nack', timeoutMs: 8_000 });
  assert.deepEqual(
    deliveries.slice(0, 2).map((d) => d.attempt),
    [1, 2],
  );
  // With a 10 s minimum backoff Pub/Sub would wait at least 10 s before redelivering.
  const gap = deliveries[1].at - deliveries[0].at;
  assert.ok(gap < 5_000, `redelivered after ${gap} ms, well inside the 10 s minimum backoff`);
});
