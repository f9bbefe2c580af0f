/**
 * What the linker keeps per publish and per delivery: only the fields linking, metrics and journeys
 * need (not whole spans), in as few objects and arrays as possible (see docs/collector.md, "Limits").
 */
import type { HostIdentity, MatchMethod } from '../types.js';

/** One group's deliveries of one message (for the duplicate/redelivery rule). */
export interface GroupState {
  group: string;
  /** `hoptrace.delivery.attempt` values 1-30 seen, as bits (bit n = attempt n). */
  attemptsSeen: number;
  /** Highest attempt seen; 0 when the spans carry none. */
  maxAttempt: number;
  /** Outcome and start of the latest delivery, by start time. */
  lastOutcome: string | undefined;
  lastStartNs: bigint;
}

/** Shared by every publish of one message ID (or private to a publish without one). */
export interface MessageState {
  messageId: string | undefined;
  groups: GroupState[];
  /** Dead-letter sources already counted for this message. */
  deadLetterSources: string[];
}

export interface PublishEntry {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  service: string;
  system: string;
  destination: string;
  /** What metrics and the map call it: `destination`, or a placeholder for a temporary or anonymous one. */
  destinationLabel: string;
  routingKey: string | undefined;
  messageId: string | undefined;
  correlationId: string | undefined;
  startNs: bigint;
  /** Collector clock (ms) when the span arrived: deadlines and TTL count from here. */
  arrivedAt: number;
  journeyKey: string;
  message: MessageState;
  deliveries: DeliveryEntry[];
  deadlinePassed: boolean;
  unconsumed: boolean;
}

export interface DeliveryEntry {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  service: string;
  system: string;
  destination: string;
  /** What metrics and the map call it: `destination`, or a placeholder for a temporary or anonymous one. */
  destinationLabel: string;
  group: string;
  /** `group` came from the span; false when it is the destination or service fallback. */
  groupNamed: boolean;
  messageId: string | undefined;
  correlationId: string | undefined;
  attempt: number | undefined;
  outcome: string | undefined;
  deadLetterReason: string | undefined;
  deadLetterSource: string | undefined;
  errorType: string | undefined;
  statusError: boolean;
  /** The consumer's host identity (its synthetic span's resource carries it). */
  host: HostIdentity | undefined;
  startNs: bigint;
  endNs: bigint;
  arrivedAt: number;
  /** Span contexts (trace ID + span ID) this delivery may belong to: its parent and links. */
  refs: { traceId: string; spanId: string; method: MatchMethod }[];
  /** Batch deliveries match only through their link. */
  batch: boolean;
  publish: PublishEntry | undefined;
  matchedBy: MatchMethod | undefined;
  latencyMs: number | undefined;
  duplicate: boolean;
  journeyKey: string | undefined;
}

/**
 * The `messaging_consumer_group_name` label of a delivery: its named group, else empty, as the
 * wrappers label it (RabbitMQ has no consumer groups). The destination fallback in `group` keeps
 * deliveries apart inside the linker, but as a label it would differ from every other series.
 */
export function groupLabel(d: DeliveryEntry): string {
  return d.groupNamed ? d.group : '';
}

/** The delivery carries dead-letter details but did not dead-letter it itself: it read a dead-letter queue. */
export function readsDeadLetter(d: DeliveryEntry): boolean {
  return d.outcome !== 'dead_letter' && d.deadLetterReason !== undefined;
}

/**
 * Whether a delivery's destination is the publish's (Kafka topic, bus topic) or its routing key
 * (RabbitMQ default exchange). A reply through RabbitMQ's direct reply-to is published with routing
 * key `amq.rabbitmq.reply-to.<id>` and consumed from `amq.rabbitmq.reply-to`.
 */
export function sameDestination(publish: PublishEntry, d: DeliveryEntry): boolean {
  if (publish.destination === d.destination || publish.routingKey === d.destination) return true;
  return d.destination === DIRECT_REPLY_TO && publish.routingKey?.startsWith(`${DIRECT_REPLY_TO}.`) === true;
}

const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

/**
 * A delivery of `publish`'s message from a dead-letter queue: it reads a dead letter, on another
 * destination than the publish went to (RabbitMQ dead-letters in the broker, keeping the original
 * publish). A delivery from a dead-letter topic the message was republished to (Kafka) belongs to
 * that republish and is an ordinary delivery of it.
 */
export function isDeadLetterQueueDelivery(
  d: DeliveryEntry,
  publish: PublishEntry | undefined = d.publish,
): boolean {
  return readsDeadLetter(d) && (publish === undefined || !sameDestination(publish, d));
}

/** Fan-out: distinct groups that received this publish, dead-letter queue consumers excluded. */
export function fanOut(publish: PublishEntry): number {
  const seen: string[] = [];
  for (const d of publish.deliveries) {
    if (!isDeadLetterQueueDelivery(d, publish) && !seen.includes(d.group)) seen.push(d.group);
  }
  return seen.length;
}

export function deliveredTo(publish: PublishEntry, group: string): boolean {
  return publish.deliveries.some((d) => d.group === group && !isDeadLetterQueueDelivery(d, publish));
}

/** Outcomes after which the broker or the bus delivers the message again. */
export const REDELIVERING_OUTCOMES: ReadonlySet<string> = new Set(['requeue', 'retry', 'error']);

/**
 * Shared initial value for lists that are usually empty or hold one item (deliveries per publish,
 * groups, span IDs). Never mutated: `add` returns a new array while a list is small. V8 gives an
 * array that grows by `push` (or a spread) room for 16 more items; `concat` allocates exactly, which
 * keeps a tracked message several hundred bytes smaller.
 */
export const NONE: never[] = Object.freeze([]) as unknown as never[];

export function add<T>(list: T[], item: T): T[] {
  if (list.length < 8) return list.concat([item]);
  list.push(item);
  return list;
}
