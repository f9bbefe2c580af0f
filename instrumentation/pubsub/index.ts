/**
 * `hoptrace/pubsub`: tracing and metrics for `@google-cloud/pubsub` (5.x).
 *
 * ```ts
 * const pubsub = instrumentPubSub(new PubSub({ projectId }), { serviceName: 'orders' });
 * await pubsub.topic('orders').publishMessage({ data });            // `send orders`, context in attributes
 * pubsub.subscription('billing').on('message', (m) => m.ack());      // `process billing`, outcome ack
 * ```
 */

export { PubSubInstrumentation, type PubSubInstrumentationConfig } from './auto.js';
export { PubSubLeaseExpiredError } from './errors.js';
export { instrumentPubSub } from './instrument.js';
export type {
  PubSubConsumeHook,
  PubSubConsumeInfo,
  PubSubConsumeMessage,
  PubSubInstrumentationOptions,
  PubSubPublishHook,
  PubSubPublishInfo,
  PubSubPublishMessage,
  PubSubSettleHook,
  PubSubSettleInfo,
} from './types.js';
