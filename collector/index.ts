/**
 * `hoptrace/collector`: receives OTLP spans, links producers to consumers, watches broker state and
 * serves `/metrics` and the journeys API. See docs/collector.md.
 */

export { MonitorError } from '../monitors/errors.js';
export type {
  CollectorLimits,
  CollectorOptions,
  ForwardOptions,
  KafkaMonitorOptions,
  KafkaScaleOutOptions,
  PubSubMonitorOptions,
  RabbitMqMonitorOptions,
  SqsMonitorOptions,
} from './config.js';
export { DEFAULT_FORWARD, DEFAULT_HOST, DEFAULT_LIMITS, DEFAULT_PORT } from './config.js';
export {
  CollectorError,
  ConfigError,
  ForwardError,
  HoptraceError,
  isHoptraceError,
  MalformedRequestError,
  OverloadedError,
  PayloadTooLargeError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from './errors.js';
export type { RenderOptions } from './journey/render.js';
export { renderJourney } from './journey/render.js';
export type { LinkerLimits, LinkerOptions, LinkerStats } from './linker/linker.js';
export { Linker } from './linker/linker.js';
export { CollectorMetrics } from './metrics.js';
export { fromReadableSpan } from './otlp/readable-span.js';
export type { Collector } from './start.js';
export { startCollector } from './start.js';
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
