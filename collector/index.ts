/**
 * `hoptrace/collector`: receives OTLP spans, links producers to consumers, watches broker state and
 * serves `/metrics` and the journeys API. See docs/collector.md.
 */
export { startCollector } from './collector.js';
export type { Collector } from './collector.js';
export type {
  CollectorLimits,
  CollectorOptions,
  ForwardOptions,
  KafkaMonitorOptions,
  KafkaScaleOutOptions,
  RabbitMqMonitorOptions,
} from './config.js';
export { DEFAULT_FORWARD, DEFAULT_LIMITS, DEFAULT_PORT, DEFAULT_HOST } from './config.js';
export {
  ConfigError,
  ForwardError,
  HoptraceError,
  isHoptraceError,
  MalformedRequestError,
  MonitorError,
  OverloadedError,
  PayloadTooLargeError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from './errors.js';
export { Linker } from './linker/linker.js';
export type { LinkerLimits, LinkerOptions, LinkerStats } from './linker/linker.js';
export { CollectorMetrics } from './metrics.js';
export { fromReadableSpan } from './otlp/readable-span.js';
export { renderJourney } from './journey/render.js';
export type { RenderOptions } from './journey/render.js';
export type {
  AttributeValue,
  Journey,
  JourneyAttempt,
  JourneyDelivery,
  JourneyPublish,
  JourneySummary,
  MatchMethod,
  SpanAttributes,
  SpanKindName,
  SpanLinkRecord,
  SpanRecord,
} from './types.js';
