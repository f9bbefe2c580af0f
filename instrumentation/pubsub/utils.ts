/** Pure helpers of `hoptrace/pubsub`: names, the attribute budget, attempts, dead-letter attributes. */
import {
  HEADER_CORRELATION_ID,
  HEADER_GCP_PUBSUB_CLIENT_TRACEPARENT,
  HEADER_GCP_PUBSUB_DEAD_LETTER_SOURCE_SUBSCRIPTION,
  HEADER_ORIGIN_AT,
} from '../core/semconv.js';

/** Pub/Sub's limits on message attributes (https://cloud.google.com/pubsub/quotas#resource_limits). */
export const PUBSUB_LIMITS = { attributes: 100, keyBytes: 256, valueBytes: 1024 } as const;

/** Messages whose redeliveries a subscription wrapper remembers (for the attempt count without a dead-letter policy). */
export const MAX_TRACKED_MESSAGES = 10_000;

/** `projects/p/topics/t` -> `t`, `projects/p/subscriptions/s` -> `s`; anything else unchanged. */
export function shortName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) return 'unknown';
  const match = /^projects\/[^/]+\/(?:topics|subscriptions)\/(.+)$/.exec(name);
  return match ? match[1]! : name;
}

/**
 * The message attributes to send: the caller's, unchanged, plus as many of hoptrace's as fit within
 * Pub/Sub's limits (count, key and value size), most useful first. The core already wrote the lean set
 * (no `x-hoptrace-published-at`: Pub/Sub stamps `publishTime`).
 */
export function budgetAttributes(
  caller: Readonly<Record<string, unknown>>,
  written: Readonly<Record<string, unknown>>,
  correlationHeader: string = HEADER_CORRELATION_ID,
): { attributes: Record<string, unknown>; dropped: number } {
  const attributes: Record<string, unknown> = { ...caller };
  const callerKeys = Object.keys(caller).length;
  const ours: string[] = [];
  const priority = ['traceparent', correlationHeader, HEADER_ORIGIN_AT, 'tracestate', 'baggage'];
  for (const key of priority) if (key in written && !(key in caller)) ours.push(key);
  for (const key of Object.keys(written)) {
    if (!ours.includes(key) && !(key in caller)) ours.push(key);
  }
  let room = PUBSUB_LIMITS.attributes - callerKeys;
  let dropped = 0;
  for (const key of ours) {
    const value = written[key];
    if (
      room <= 0 ||
      typeof value !== 'string' ||
      Buffer.byteLength(key) > PUBSUB_LIMITS.keyBytes ||
      Buffer.byteLength(value) > PUBSUB_LIMITS.valueBytes
    ) {
      dropped++;
      continue;
    }
    attributes[key] = value;
    room--;
  }
  return { attributes, dropped };
}

/** Adds `googclient_traceparent` when there is room and the caller has none. */
export function addClientTraceparent(attributes: Record<string, unknown>, traceparent: unknown): boolean {
  if (typeof traceparent !== 'string' || HEADER_GCP_PUBSUB_CLIENT_TRACEPARENT in attributes) return false;
  if (Object.keys(attributes).length >= PUBSUB_LIMITS.attributes) return false;
  attributes[HEADER_GCP_PUBSUB_CLIENT_TRACEPARENT] = traceparent;
  return true;
}

/**
 * The attributes the consumer reads context from: the message's own, or, when it has no `traceparent`
 * but the client's OTel tracing wrote `googclient_traceparent`, a copy with that as `traceparent`, so
 * a message published with only the client's tracing joins the publisher's trace.
 */
export function incomingAttributes(attributes: Record<string, unknown>): Record<string, unknown> {
  if (attributes.traceparent !== undefined) return attributes;
  const client = attributes[HEADER_GCP_PUBSUB_CLIENT_TRACEPARENT];
  if (typeof client !== 'string') return attributes;
  return { ...attributes, traceparent: client };
}

/** A message Pub/Sub forwarded to a dead-letter topic: the subscription it came from (real service only). */
export function deadLetterSourceOf(attributes: Record<string, unknown>): string | undefined {
  const source = attributes[HEADER_GCP_PUBSUB_DEAD_LETTER_SOURCE_SUBSCRIPTION];
  return typeof source === 'string' && source.length > 0 ? shortName(source) : undefined;
}

/**
 * Counts deliveries of each message ID this process saw on one subscription (oldest forgotten first),
 * for the attempt number where Pub/Sub gives none (no dead-letter policy).
 */
export class AttemptTracker {
  private readonly seen = new Map<string, number>();

  constructor(private readonly max = MAX_TRACKED_MESSAGES) {}

  /** Records one delivery; returns its attempt number (1 for the first this process saw). */
  delivered(messageId: string): number {
    const attempt = (this.seen.get(messageId) ?? 0) + 1;
    this.seen.delete(messageId);
    this.seen.set(messageId, attempt);
    if (this.seen.size > this.max) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return attempt;
  }

  /** The message was acked: it will not come back. */
  forget(messageId: string): void {
    this.seen.delete(messageId);
  }

  get size(): number {
    return this.seen.size;
  }
}

/** The dead-letter policy's attempt limit: Pub/Sub uses 5 when it is 0 or unset. */
export function maxDeliveryAttemptsOf(policy: unknown): number | undefined {
  if (!policy || typeof policy !== 'object') return undefined;
  const p = policy as { deadLetterTopic?: unknown; maxDeliveryAttempts?: unknown };
  if (typeof p.deadLetterTopic !== 'string' || p.deadLetterTopic.length === 0) return undefined;
  const max = Number(p.maxDeliveryAttempts);
  return Number.isInteger(max) && max > 0 ? max : 5;
}
