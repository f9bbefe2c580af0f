/** State shared by the wrappers of one `instrumentPubSub` call. Never exported from the package. */
import type { Instrumentation } from '../transport/index.js';
import type { PubSubConsumeMessage, PubSubPublishMessage } from './types.js';

export interface PubSubWrapContext {
  readonly instr: Instrumentation<PubSubPublishMessage, PubSubConsumeMessage>;
  readonly settleTimeoutMs: number;
  readonly fetchSubscriptionMetadata: boolean;
  /** Write `googclient_traceparent`; turned off once the client's own (process-wide) tracing is seen on. */
  clientTraceContext: boolean;
  /** Raw client object -> its wrapper, so each object is wrapped once. */
  readonly wrappers: WeakMap<object, object>;
  /** The wrappers themselves: wrapping a wrapper returns it. */
  readonly wrapped: WeakSet<object>;
}

/** The parts of `@google-cloud/pubsub`'s Publisher the wrapper uses. */
export interface PublisherLike {
  topic?: { name?: unknown };
  publishMessage(...args: unknown[]): unknown;
}

/** The parts of a Subscription the wrapper uses (an EventEmitter with a name). */
export interface SubscriptionLike {
  name?: unknown;
  metadata?: { deadLetterPolicy?: unknown } | null;
  getMetadata?: () => Promise<unknown>;
  close?: (...args: unknown[]) => unknown;
  on(event: string | symbol, listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string | symbol, listener: (...args: unknown[]) => void): unknown;
}
