/**
 * `hoptrace`: what application code needs. The correlation ID of the flow it runs in; the metrics
 * registry and its rendering for a `/metrics` endpoint; the option, hook and outcome types of every
 * wrapper; the error base. Wrappers live at `hoptrace/amqp`, `hoptrace/kafka`, `hoptrace/bus`, ...; the
 * kit for instrumenting another broker client is `hoptrace/transport`. The list is in docs/contract.md.
 */

export {
  currentCorrelationId,
  isValidCorrelationId,
  MAX_CORRELATION_ID_LENGTH,
  withCorrelationId,
} from './correlation.js';
export type { HoptraceErrorOptions } from './errors.js';
export { HoptraceError, isHoptraceError } from './errors.js';
export type { MetricsRegistry } from './metrics.js';
export { createOpenMetricsRegistry, metricsRegistry } from './metrics.js';
export type { MetricsFormat } from './metrics-format.js';
export {
  acceptsOpenMetrics,
  negotiateMetricsFormat,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  renderMetrics,
} from './metrics-format.js';
export type { DeadLetterReason, MessagingSystem, Outcome } from './semconv.js';
export { serviceTracerProvider } from './service-tracer-provider.js';
export type {
  ConsumeHook,
  ConsumeInfo,
  InstrumentationHooks,
  InstrumentationOptions,
  LinkMode,
  PublishHook,
  PublishInfo,
  SettleHook,
  SettleInfo,
} from './types.js';
export { VERSION } from './version.js';
