/** Public option and hook types of `hoptrace/pubsub`. Changing these breaks users. */
import type { Message } from '@google-cloud/pubsub';
import type {
  ConsumeHook,
  ConsumeInfo,
  InstrumentationOptions,
  PublishHook,
  PublishInfo,
  SettleHook,
  SettleInfo,
} from '../transport/index.js';

/** What publish hooks receive as `info.message`: the topic and the caller's message (read-only). */
export interface PubSubPublishMessage {
  topic: string;
  message: Readonly<{
    data?: Uint8Array | null;
    attributes?: Readonly<Record<string, string>> | null;
    orderingKey?: string | null;
  }>;
}

/** What consume and settle hooks receive as `info.message`: the subscription and the client's Message. */
export interface PubSubConsumeMessage {
  subscription: string;
  message: Message;
}

export type PubSubPublishInfo = PublishInfo<PubSubPublishMessage>;
export type PubSubConsumeInfo = ConsumeInfo<PubSubConsumeMessage>;
export type PubSubSettleInfo = SettleInfo<PubSubConsumeMessage>;
export type PubSubPublishHook = PublishHook<PubSubPublishMessage>;
export type PubSubConsumeHook = ConsumeHook<PubSubConsumeMessage>;
export type PubSubSettleHook = SettleHook<PubSubConsumeMessage>;

export interface PubSubInstrumentationOptions
  extends InstrumentationOptions<PubSubPublishMessage, PubSubConsumeMessage> {
  /**
   * How long a consumer span stays open after the handler returned without `ack()` / `nack()` (a later
   * ack); then it ends marked `hoptrace.unsettled`, and the outcome is still counted when it comes.
   * Default 30 000 ms.
   */
  settleTimeoutMs?: number;
  /**
   * Read a subscription's dead-letter policy with one `GetSubscription` call (needs
   * `pubsub.subscriptions.get`) when its messages carry a delivery attempt and the Subscription object
   * has no metadata yet; without the policy a nack on the last attempt counts as `requeue`, not
   * `dead_letter`. Default true.
   */
  fetchSubscriptionMetadata?: boolean;
  /**
   * Also write `googclient_traceparent` (the attribute `@google-cloud/pubsub`'s own OTel tracing reads)
   * when this client's tracing is off, so consumers that use only the client's tracing join the trace.
   * Default true.
   */
  clientTraceContext?: boolean;
}
