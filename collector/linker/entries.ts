/**
 * What the linker keeps per publish and per delivery: only the fields linking, metrics and journeys
 * need (not whole spans), so a tracked message stays well under 1 KiB.
 */
import type { MatchMethod } from '../types.js';

/** One group's deliveries of one message (for the duplicate/redelivery rule). */
export interface GroupState {
  group: string;
  /** Consumer span IDs seen, to ignore the same span exported twice. */
  spanIds: string[];
  /** `hoptrace.delivery.attempt` values seen (when the spans carry it). */
  attempts: number[];
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
  routingKey: string | undefined;
  messageId: string | undefined;
  correlationId: string | undefined;
  startNs: bigint;
  /** Collector clock (ms) when the span arrived: deadlines and TTL count from here. */
  arrivedAt: number;
  journeyKey: string;
  message: MessageState;
  deliveries: DeliveryEntry[];
  /** Distinct groups that received it (dead-letter queue consumers excluded): the fan-out. */
  groups: string[];
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
  group: string;
  messageId: string | undefined;
  correlationId: string | undefined;
  attempt: number | undefined;
  outcome: string | undefined;
  deadLetterReason: string | undefined;
  deadLetterSource: string | undefined;
  errorType: string | undefined;
  statusError: boolean;
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
  /** Waited the whole link window without finding its publish. */
  orphan: boolean;
  journeyKey: string | undefined;
}

/** Delivery from a dead-letter queue (not the consumer that dead-lettered it). */
export function isDeadLetterQueueDelivery(d: DeliveryEntry): boolean {
  return d.outcome !== 'dead_letter' && d.deadLetterReason !== undefined;
}

/** Outcomes after which the broker or the bus delivers the message again. */
export const REDELIVERING_OUTCOMES: ReadonlySet<string> = new Set(['requeue', 'retry', 'error']);
