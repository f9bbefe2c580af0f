/**
 * Public data types of the collector: the normalized span record every input (OTLP protobuf, OTLP
 * JSON, OTel SDK `ReadableSpan`) is turned into, and the journey returned by the API.
 */

export type SpanKindName = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/** Attribute values after flattening: key-value lists become dotted keys, bytes become base64. */
export type AttributeScalar = string | number | boolean;
export type AttributeValue = AttributeScalar | AttributeScalar[];
export type SpanAttributes = Record<string, AttributeValue>;

export interface SpanLinkRecord {
  /** 32 lowercase hex characters. */
  traceId: string;
  /** 16 lowercase hex characters. */
  spanId: string;
  attributes: SpanAttributes;
}

/**
 * Resource `host.id` and `ip` (Jaeger's clock-skew adjusters compare spans across hosts by these: a
 * span without them counts as a host of its own).
 */
export interface HostIdentity {
  id?: string;
  ip?: string;
}

/** One span in the collector's own shape, independent of how it arrived. */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  /** Absent for a root span. */
  parentSpanId: string | undefined;
  name: string;
  kind: SpanKindName;
  /** Unix epoch nanoseconds. */
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: SpanAttributes;
  links: SpanLinkRecord[];
  /** `service.name` of the span's resource (`unknown_service` when missing). */
  serviceName: string;
  /** The resource's host identity, when it names one (synthetic spans copy their consumer's). */
  host?: HostIdentity;
  status: { code: 'unset' | 'ok' | 'error'; message?: string };
}

/** How a delivery was matched to its publish, strongest first. */
export type MatchMethod = 'parent' | 'link' | 'message_id' | 'correlation_id';

/** One consumer span (one attempt) in a journey. */
export interface JourneyAttempt {
  attempt: number;
  outcome: string | undefined;
  service: string;
  traceId: string;
  spanId: string;
  /** ISO 8601. */
  startTime: string;
  durationMs: number;
  /** Publish start -> this attempt's start. */
  latencyMs: number | undefined;
  matchedBy: MatchMethod | undefined;
  errorType?: string;
  deadLetterReason?: string;
  deadLetterSource?: string;
  /** A second delivery of the same message to the same group that is not a redelivery. */
  duplicate?: boolean;
}

/** Deliveries of one message to one consumer group on one destination. */
export interface JourneyDelivery {
  destination: string;
  service: string;
  group: string;
  system: string;
  attempts: JourneyAttempt[];
  /** Outcome of the last attempt. */
  outcome: string | undefined;
  /** Hop latency of the first attempt, ms. */
  hopLatencyMs: number | undefined;
  retries: number;
  deadLetter?: { reason: string | undefined; source: string | undefined };
  /** These deliveries come from a dead-letter queue (the message was dead-lettered from `deadLetter.source`). */
  deadLetterQueue?: boolean;
  /** Publishes made while handling this delivery. */
  publishes: JourneyPublish[];
}

export interface JourneyPublish {
  messageId: string | undefined;
  service: string;
  system: string;
  destination: string;
  routingKey?: string;
  traceId: string;
  spanId: string;
  /** ISO 8601. */
  time: string;
  deliveries: JourneyDelivery[];
  /** The unconsumed deadline passed with no delivery. */
  unconsumed: boolean;
}

export interface Journey {
  correlationId: string | undefined;
  /** Set when the journey was asked for by message ID. */
  messageId?: string;
  traceIds: string[];
  /** Publishes not made while handling another delivery of this journey, by time. */
  publishes: JourneyPublish[];
  /** Deliveries of this journey whose publish was never seen. */
  orphans: JourneyDelivery[];
  counts: {
    publishes: number;
    deliveries: number;
    retries: number;
    deadLetters: number;
    duplicates: number;
    orphans: number;
    unconsumed: number;
  };
  /** Entries beyond the per-journey cap were not kept. */
  truncated: boolean;
}

export interface JourneySummary {
  correlationId: string;
  publishes: number;
  deliveries: number;
  /** ISO 8601 of the earliest span. */
  firstSeen: string;
  /** ISO 8601 of the latest span. */
  lastSeen: string;
  /** Services that published or consumed, in order of appearance. */
  services: string[];
  destinations: string[];
  retries: number;
  /** Dead-letter events (a message dead-lettered from one source counts once). */
  deadLetters: number;
  duplicates: number;
  orphans: number;
  unconsumed: number;
  /** Attempts that failed (error status, `error.type`, or a failing outcome). */
  errors: number;
  /** Some entries were not kept (per-journey cap). */
  truncated: boolean;
}

/**
 * The seam between receiving and linking (`consumer.Traces` in the OpenTelemetry Collector): where
 * normalized spans go, the local linker or the scale-out topic.
 */
export interface SpanSink {
  /** Only messaging spans are needed (others are counted, not converted). */
  readonly messagingOnly: boolean;
  accept(spans: SpanRecord[]): void | Promise<void>;
}
