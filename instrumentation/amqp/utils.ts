/** Pure helpers of the AMQP wrapper: dead-letter history, attempts, outcomes, attributes. */
import type { Attributes } from '@opentelemetry/api';
import {
  AMQP_DEFAULT_EXCHANGE,
  ATTR_MESSAGING_MESSAGE_BODY_SIZE,
  ATTR_MESSAGING_RABBITMQ_DELIVERY_TAG,
  ATTR_MESSAGING_RABBITMQ_ROUTING_KEY,
  type DeadLetterReason,
  HEADER_AMQP_DELIVERY_COUNT,
  HEADER_AMQP_X_DEATH,
  HEADER_PUBLISHED_AT,
  type Outcome,
} from '../core/semconv.js';
import { headerString, parseEpochMillis } from '../transport/index.js';
import type { AmqpMessage } from './types.js';

/** One entry of RabbitMQ's `x-death` header: one (queue, reason) the message was dead-lettered from. */
export interface XDeathEntry {
  /** How often the message was dead-lettered from `queue` for `reason`. */
  count: number;
  reason: DeadLetterReason;
  /** The queue the message was dead-lettered from. */
  queue: string | undefined;
  /** The exchange the message had been published to before. */
  exchange: string | undefined;
  /** Epoch seconds of the most recent such event. */
  time: number | undefined;
  routingKeys: string[];
}

const X_DEATH_REASONS: Record<string, DeadLetterReason> = {
  rejected: 'rejected',
  expired: 'expired',
  maxlen: 'maxlen',
  delivery_limit: 'delivery_limit',
};

/**
 * Parses `x-death` (most recent event first). Entries that are not tables, or carry an unknown reason,
 * are skipped; a missing or malformed header gives an empty list. Never throws.
 */
export function parseXDeath(headers: Record<string, unknown> | null | undefined): XDeathEntry[] {
  const raw = headers?.[HEADER_AMQP_X_DEATH];
  if (!Array.isArray(raw)) return [];
  const entries: XDeathEntry[] = [];
  for (const item of raw) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) continue;
    const table = item as Record<string, unknown>;
    const reason = X_DEATH_REASONS[String(unwrap(table.reason))];
    if (!reason) continue;
    const count = Number(unwrap(table.count));
    const routingKeys = unwrap(table['routing-keys']);
    entries.push({
      count: Number.isSafeInteger(count) && count > 0 ? count : 1,
      reason,
      queue: text(table.queue),
      exchange: text(table.exchange),
      time: timestampSeconds(table.time),
      routingKeys: Array.isArray(routingKeys) ? routingKeys.map((k) => text(k)).filter(isString) : [],
    });
  }
  return entries;
}

/**
 * Whether this delivery is the first sight of a new dead-letter event, so it is counted once:
 * the message carries `x-death`, this is its first delivery from the current queue (a message
 * redelivered from the dead-letter queue has `redelivered` set), and it was not re-published after
 * the event (a re-publish through hoptrace stamps a newer `x-hoptrace-published-at`; the header's
 * time has one-second resolution, hence the slack).
 */
export function isNewDeadLetterEvent(message: AmqpMessage, latest: XDeathEntry | undefined): boolean {
  if (!latest || message.fields.redelivered) return false;
  const publishedAt = publishedAtOf(message.properties.headers);
  if (publishedAt === undefined || latest.time === undefined) return true;
  return publishedAt < (latest.time + 1) * 1000;
}

/**
 * Delivery attempt, 1 for the first: quorum queues count earlier failed deliveries in `x-delivery-count`;
 * classic queues only say `redelivered`, which gives 2 ("at least the second").
 */
export function attemptOf(message: AmqpMessage): number {
  const count = Number(unwrap(message.properties.headers?.[HEADER_AMQP_DELIVERY_COUNT]));
  if (Number.isSafeInteger(count) && count > 0) return count + 1;
  return message.fields.redelivered ? 2 : 1;
}

/**
 * The outcome of `nack`/`reject`: requeued; dead-lettered when the queue has a dead-letter exchange;
 * otherwise discarded (`reject`, whichever of the two methods was used).
 */
export function negativeOutcome(requeue: boolean, hasDeadLetterExchange: boolean): Outcome {
  if (requeue) return 'requeue';
  return hasDeadLetterExchange ? 'dead_letter' : 'reject';
}

/** The metrics' and span name's destination of a publish: the exchange, or `amq.default`. */
export function exchangeDestination(exchange: unknown): string {
  return typeof exchange === 'string' && exchange.length > 0 ? exchange : AMQP_DEFAULT_EXCHANGE;
}

export function publishAttributes(routingKey: unknown, content: unknown): Attributes {
  const attributes: Attributes = {};
  if (typeof routingKey === 'string' && routingKey.length > 0)
    attributes[ATTR_MESSAGING_RABBITMQ_ROUTING_KEY] = routingKey;
  if (content instanceof Uint8Array) attributes[ATTR_MESSAGING_MESSAGE_BODY_SIZE] = content.byteLength;
  return attributes;
}

export function deliveryAttributes(message: AmqpMessage): Attributes {
  const attributes = publishAttributes(message.fields.routingKey, message.content);
  attributes[ATTR_MESSAGING_RABBITMQ_DELIVERY_TAG] = message.fields.deliveryTag;
  return attributes;
}

/** The AMQP `messageId` property when it is a usable string. */
export function messageIdOf(message: AmqpMessage): string | undefined {
  const id = message.properties.messageId;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

/** Epoch ms of the AMQP `timestamp` property (seconds), when set. */
export function timestampMillisOf(message: AmqpMessage): number | undefined {
  const seconds = timestampSeconds(message.properties.timestamp);
  return seconds === undefined ? undefined : seconds * 1000;
}

/** The reason label of a returned message, from the broker's reply code. */
export function returnReason(replyCode: unknown): string {
  if (replyCode === 312) return 'no_route';
  if (replyCode === 313) return 'no_consumers';
  return 'other';
}

/** amqplib decodes typed table values as `{ '!': type, value }`. */
function unwrap(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && '!' in value && 'value' in value)
    return (value as { value: unknown }).value;
  return value;
}

function text(value: unknown): string | undefined {
  return headerString(unwrap(value));
}

function timestampSeconds(value: unknown): number | undefined {
  const v = Number(unwrap(value));
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

function publishedAtOf(headers: Record<string, unknown> | undefined): number | undefined {
  return parseEpochMillis(unwrap(headers?.[HEADER_PUBLISHED_AT]));
}

function isString(value: string | undefined): value is string {
  return value !== undefined;
}
