/**
 * The narrow read side of the linker's journey model, as Jaeger's query side reads storage through an
 * interface: the journeys API reads journeys only through `JourneyReader`, never the linker's internals.
 */
import type { Journey, JourneySummary } from '../types.js';

export interface JourneyReader {
  /** The journey of a correlation ID (or `trace:<traceId>` for flows without one). */
  journey(correlationId: string): Journey | undefined;
  /** The journey from one message on, while its publish is tracked. */
  messageJourney(messageId: string): Journey | undefined;
  /** Most recently updated first. */
  recentJourneys(limit: number): JourneySummary[];
}
