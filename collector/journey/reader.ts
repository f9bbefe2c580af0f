/**
 * The narrow read side of the linker's journey model, as Jaeger's query side reads storage through an
 * interface: the journeys API, the flow map and the web UI read journeys only through `JourneyReader`,
 * never the linker's internals. Besides journeys it hands out filters for journey lists and read-only
 * views of publishes and deliveries for aggregates such as the flow map: the views are the linker's
 * own entries typed read-only (no copies), so a visitor must not keep or change them.
 */
import type { Journey, JourneySummary } from '../types.js';

/** What a journey list can be narrowed to (`GET /api/journeys`). */
export type JourneyOutcomeFilter =
  | 'dead_lettered'
  | 'retried'
  | 'unconsumed'
  | 'orphaned'
  | 'duplicated'
  | 'failed';

export const JOURNEY_OUTCOME_FILTERS: readonly JourneyOutcomeFilter[] = [
  'dead_lettered',
  'retried',
  'unconsumed',
  'orphaned',
  'duplicated',
  'failed',
];

export interface JourneyFilter {
  /** A service that published or consumed in the journey (exact). */
  service?: string;
  /** A destination published to or consumed from (exact). */
  destination?: string;
  outcome?: JourneyOutcomeFilter;
  /** A correlation ID (substring, case-insensitive) or a message ID (exact). */
  query?: string;
}

/** A publish as the map sees it. */
export interface PublishView {
  readonly spanId: string;
  /** The span it was made under: a delivery's span when published while handling one. */
  readonly parentSpanId: string | undefined;
  readonly service: string;
  readonly system: string;
  readonly destination: string;
  /** The map's name for it: a placeholder for a temporary or anonymous destination. */
  readonly destinationLabel: string;
  readonly routingKey: string | undefined;
  /** Collector clock (ms) when the span arrived. */
  readonly arrivedAt: number;
  /** Its unconsumed deadline passed with no delivery. */
  readonly unconsumed: boolean;
  readonly deliveries: readonly unknown[];
}

/** One delivery attempt (a consumer span) as the map sees it. */
export interface DeliveryView {
  readonly spanId: string;
  readonly service: string;
  readonly system: string;
  readonly destination: string;
  /** The map's name for it: a placeholder for a temporary or anonymous destination. */
  readonly destinationLabel: string;
  readonly group: string;
  /** `group` came from the span (not the destination or service fallback). */
  readonly groupNamed: boolean;
  readonly attempt: number | undefined;
  readonly outcome: string | undefined;
  readonly errorType: string | undefined;
  readonly statusError: boolean;
  readonly deadLetterReason: string | undefined;
  readonly deadLetterSource: string | undefined;
  /** Publish start -> this attempt's start, ms; undefined while unmatched. */
  readonly latencyMs: number | undefined;
  readonly duplicate: boolean;
  readonly arrivedAt: number;
  /** The publish it was matched to; undefined for an orphan (or one still waiting). */
  readonly publish: PublishView | undefined;
}

/** What the linker knows about a delivery beyond its span (the object is reused between calls). */
export interface DeliveryFlags {
  /** Read from a dead-letter queue, not a delivery of the publish's own destination. */
  fromDeadLetterQueue: boolean;
  /** Still waiting for its publish (within the link window): not yet an orphan. */
  waiting: boolean;
}

export interface FlowVisitor {
  publish(p: PublishView): void;
  delivery(d: DeliveryView, flags: Readonly<DeliveryFlags>): void;
}

export interface JourneyReader {
  /** The journey of a correlation ID (or `trace:<traceId>` for flows without one). */
  journey(correlationId: string): Journey | undefined;
  /** The journey from one message on, while its publish is tracked. */
  messageJourney(messageId: string): Journey | undefined;
  /** Most recently updated first, narrowed by `filter`. */
  recentJourneys(limit: number, filter?: JourneyFilter): JourneySummary[];
  /** Visits every publish and delivery kept in journeys, each once (the flow map is built from these). */
  visitFlows(visitor: FlowVisitor): void;
  /** Journeys kept. */
  journeyCount(): number;
}
