/**
 * Public types of `hoptrace/amqp`. Changing these breaks users.
 *
 * The message shapes are structural copies of amqplib's (0.10 and 2.x agree on them), so these
 * declarations do not depend on which amqplib typings the application uses.
 */
import type {
  ConsumeInfo as CoreConsumeInfo,
  PublishInfo as CorePublishInfo,
  SettleInfo as CoreSettleInfo,
  InstrumentationOptions,
} from '../transport/index.js';

/** `publish` / `sendToQueue` options as amqplib takes them (the fields hoptrace reads). */
export interface AmqpPublishOptions {
  headers?: Record<string, unknown>;
  messageId?: string;
  timestamp?: number;
  mandatory?: boolean;
  [option: string]: unknown;
}

/** One `publish` or `sendToQueue` call, as the publish hook sees it. */
export interface AmqpPublishMessage {
  /** `''` for the default exchange (`sendToQueue`). */
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  /** The options as sent to amqplib: a copy of the caller's plus hoptrace's headers and properties. */
  readonly options: Readonly<AmqpPublishOptions>;
}

/** A delivered message (amqplib `ConsumeMessage` or `GetMessage`). */
export interface AmqpMessage {
  content: Buffer;
  fields: {
    deliveryTag: number;
    redelivered: boolean;
    exchange: string;
    routingKey: string;
    consumerTag?: string;
    messageCount?: number;
  };
  properties: {
    headers?: Record<string, unknown>;
    messageId?: unknown;
    timestamp?: unknown;
    [property: string]: unknown;
  };
}

export type PublishInfo = CorePublishInfo<AmqpPublishMessage>;
export type ConsumeInfo = CoreConsumeInfo<AmqpMessage>;
export type SettleInfo = CoreSettleInfo<AmqpMessage>;

export interface AmqpInstrumentationOptions extends InstrumentationOptions<AmqpPublishMessage, AmqpMessage> {
  /**
   * How long a consumer span stays open after its handler returned, waiting for a later
   * `ack`/`nack`/`reject`, before it ends marked `hoptrace.unsettled` (the settle is still counted when
   * it comes). Default 30 000 ms.
   */
  settleTimeoutMs?: number;
  /**
   * Dead-letter exchanges of queues this process does not declare itself (e.g. set by a policy), by
   * queue name. Queues declared through `assertQueue` on an instrumented channel are learned
   * automatically. Used to report `nack`/`reject` with `requeue=false` as `dead_letter`.
   */
  deadLetterExchanges?: Readonly<Record<string, string>>;
  /**
   * Queues to treat as temporary besides hoptrace's own rule (exclusive or server-named queues declared on
   * an instrumented channel, `amq.gen-*`, names with a UUID, direct reply-to): a RegExp, or a function
   * returning true (temporary), false (keep the real name) or undefined (hoptrace's rule). A temporary
   * queue is `(temporary)` in span names and metric labels; its real name stays on the span.
   */
  temporaryQueues?: RegExp | ((queue: string) => boolean | undefined);
  /**
   * Adopt the application's own AMQP `correlationId` property as the flow's correlation ID when nothing
   * else gives one (no `x-correlation-id` header on a delivery; no correlation ID in the context of a
   * publish). Default true.
   */
  applicationCorrelationId?: boolean;
}
