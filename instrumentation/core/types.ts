/** Public option and hook types shared by every wrapper. Changing these breaks users. */
import type { Span, TracerProvider } from '@opentelemetry/api';
import type { MetricsRegistry } from './metrics.js';
import type { DeadLetterReason, MessagingSystem, Outcome } from './semconv.js';

/** How a consumer span relates to its producer span. */
export type LinkMode = 'parent' | 'link';

/** Called with the producer span just before a message is handed to the client. */
export type PublishHook<TMessage> = (span: Span, info: PublishInfo<TMessage>) => void;
/** Called with the consumer span before the user's handler runs. */
export type ConsumeHook<TMessage> = (span: Span, info: ConsumeInfo<TMessage>) => void;
/** Called with the consumer span when the delivery's outcome is known. */
export type SettleHook<TMessage> = (span: Span, info: SettleInfo<TMessage>) => void;

export interface InstrumentationHooks<TPublish = unknown, TConsume = unknown> {
  publishHook?: PublishHook<TPublish>;
  consumeHook?: ConsumeHook<TConsume>;
  settleHook?: SettleHook<TConsume>;
}

export interface PublishInfo<TMessage> {
  system: MessagingSystem;
  destination: string;
  correlationId: string;
  messageId: string | undefined;
  /** The headers as they will be sent (a copy; changing it has no effect). */
  headers: Readonly<Record<string, unknown>>;
  /** The client's own message object or arguments. */
  message: TMessage;
}

export interface ConsumeInfo<TMessage> {
  system: MessagingSystem;
  destination: string;
  consumerGroup: string | undefined;
  correlationId: string;
  messageId: string | undefined;
  /** 1 for a first delivery. */
  attempt: number;
  message: TMessage;
}

export interface SettleInfo<TMessage> extends ConsumeInfo<TMessage> {
  outcome: Outcome;
  /** The handler's error, when it failed. */
  error?: unknown;
  deadLetterReason?: DeadLetterReason;
}

/** Options every wrapper accepts. Each is optional; bad values are warned about and replaced by the default. */
export interface InstrumentationOptions<TPublish = unknown, TConsume = unknown> {
  /**
   * The logical service this client belongs to, recorded on every span as `hoptrace.service.name`
   * (the collector prefers it over the resource's `service.name`, so one process can host several services).
   */
  serviceName?: string;
  /** Tracer provider to use; default: the globally registered one. */
  tracerProvider?: TracerProvider;
  /** prom-client registry for the wrapper-side metrics; default: hoptrace's `metricsRegistry`. */
  registry?: MetricsRegistry;
  /** Header that carries the correlation ID; default `x-correlation-id`. */
  correlationHeader?: string;
  /** Incoming headers copied onto consumer spans as `hoptrace.header.<name>` (allow-list; default none). */
  captureHeaders?: readonly string[];
  /** `'parent'` (default): consumer spans are children of the producer span and link to it. `'link'`: new trace, link only. */
  linkMode?: LinkMode;
  hooks?: InstrumentationHooks<TPublish, TConsume>;
  /** Distinct destination label values per metric before the rest become `__other__`; default 200. */
  maxDestinations?: number;
  /** Generates new correlation IDs; default random (version 4) UUIDs. */
  generateCorrelationId?: () => string;
}
