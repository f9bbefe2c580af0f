/**
 * Public types of `hoptrace/aws`. Changing these breaks users.
 *
 * Message shapes are structural (the fields hoptrace reads), so these declarations load no AWS SDK
 * package and fit any v3 release.
 */
import type {
  ConsumeInfo as CoreConsumeInfo,
  PublishInfo as CorePublishInfo,
  SettleInfo as CoreSettleInfo,
  InstrumentationOptions,
} from '../transport/index.js';
import type { AttributeMap } from './attributes.js';

export type { AttributeMap, AttributeValue, PropagationMode } from './attributes.js';

/** A received SQS message (the SDK's `Message`), structurally. */
export interface SqsMessage {
  MessageId?: string | undefined;
  ReceiptHandle?: string | undefined;
  Body?: string | undefined;
  Attributes?: Record<string, string> | undefined;
  MessageAttributes?: AttributeMap | undefined;
  MD5OfBody?: string | undefined;
  MD5OfMessageAttributes?: string | undefined;
}

/** One message handed to SQS (`SendMessage` input or a `SendMessageBatch` entry), as the publish hook sees it. */
export interface SqsPublishMessage {
  readonly queueUrl: string;
  /** The caller's input (or batch entry); the span attribute `hoptrace.propagation` says where the context went. */
  readonly input: Readonly<Record<string, unknown>>;
}

/** A received message, as consume and settle hooks see it. */
export interface SqsConsumeMessage {
  readonly queueUrl: string;
  /** The message as the caller receives it. */
  readonly message: SqsMessage;
}

/** One SNS `Publish` or `PublishBatch` entry, as the publish hook sees it. */
export interface SnsPublishMessage {
  /** Topic ARN, target ARN or `sms` for a phone number. */
  readonly target: string;
  readonly input: Readonly<Record<string, unknown>>;
}

export type SqsPublishInfo = CorePublishInfo<SqsPublishMessage>;
export type SqsConsumeInfo = CoreConsumeInfo<SqsConsumeMessage>;
export type SqsSettleInfo = CoreSettleInfo<SqsConsumeMessage>;
export type SnsPublishInfo = CorePublishInfo<SnsPublishMessage>;

export interface SqsInstrumentationOptions
  extends InstrumentationOptions<SqsPublishMessage, SqsConsumeMessage> {
  /**
   * Find out which queues are dead-letter queues (`ListDeadLetterSourceQueues`, then the sources'
   * `RedrivePolicy`, once per queue and 5 minutes) so their deliveries join the original flow with reason
   * `delivery_limit`. Needs `sqs:ListDeadLetterSourceQueues` and `sqs:GetQueueAttributes`; default true.
   */
  detectDeadLetterQueues?: boolean;
  /**
   * How long a received message's `process` span waits for its `DeleteMessage` or visibility change before
   * it ends unsettled; default 5 minutes.
   */
  settleTimeoutMs?: number;
}

export type SnsInstrumentationOptions = InstrumentationOptions<SnsPublishMessage, never>;
