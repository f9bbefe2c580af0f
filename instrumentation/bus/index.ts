/** `hoptrace/bus`: the traced in-process message bus. */
export type { SubscriptionHandle } from './bus.js';
export { Bus } from './bus.js';
export { BusClosedError, BusError, BusOverflowError, InvalidTopicError } from './errors.js';
export type { SubscriptionStats } from './subscription.js';
export { compilePattern } from './topic.js';
export type {
  BackoffOptions,
  BusHandler,
  BusMessage,
  BusOptions,
  BusPublication,
  HandlerErrorInfo,
  OverflowPolicy,
  PublishOptions,
  PublishResult,
  SubscribeOptions,
} from './types.js';
