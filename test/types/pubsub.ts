/**
 * Type test (compiled by `npm run build`, never run): an instrumented PubSub keeps
 * `@google-cloud/pubsub`'s own types, so switching to hoptrace is a one-line change.
 */
import { type Message, PubSub, type Subscription, type Topic } from '@google-cloud/pubsub';
import { instrumentPubSub, type PubSubInstrumentationOptions } from '../../instrumentation/pubsub/index.js';

const options: PubSubInstrumentationOptions = {
  serviceName: 'billing',
  settleTimeoutMs: 10_000,
  fetchSubscriptionMetadata: false,
  clientTraceContext: true,
  hooks: {
    publishHook: (span, info) => span.setAttribute('topic', info.message.topic),
    consumeHook: (_span, info) => info.message.message.deliveryAttempt,
    settleHook: (span, info) => span.setAttribute('outcome', info.outcome),
  },
};

export async function typed(): Promise<void> {
  const pubsub: PubSub = instrumentPubSub(new PubSub({ projectId: 'p' }), options);
  const topic: Topic = pubsub.topic('orders');
  const id: string = await topic.publishMessage({
    data: Buffer.from('x'),
    attributes: { a: 'b' },
    orderingKey: 'k',
  });
  const sub: Subscription = topic.subscription('billing');
  sub.on('message', (message: Message) => {
    message.ack();
  });
  const [created] = await pubsub.createSubscription('orders', 'audit');
  created.on('message', (message: Message) => message.nack());
  void id;
}
