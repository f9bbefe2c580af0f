/**
 * `hoptrace`: the shared core. Users need `currentCorrelationId`, `withCorrelationId` and
 * `metricsRegistry`; the wrappers (`hoptrace/amqp`, `hoptrace/kafka`, `hoptrace/bus`) build on the rest.
 */

export type { BatchDelivery, BatchDeliveryRequest, BatchMessage, BatchMessageRequest } from './batch.js';
export { startBatchDelivery } from './batch.js';
export {
  currentCorrelationId,
  isValidCorrelationId,
  MAX_CORRELATION_ID_LENGTH,
  withCorrelationId,
} from './correlation.js';
export type { DeadLetterInfo, Delivery, DeliveryRequest } from './delivery.js';
export { DEFAULT_SETTLE_TIMEOUT_MS, startDelivery } from './delivery.js';
export type { Instrumentation } from './instrumentation.js';
export { createInstrumentation } from './instrumentation.js';
export type { ConsumerSeries, MessagingMetrics, ProducerSeries } from './metrics.js';
export { getMessagingMetrics, metricsRegistry } from './metrics.js';
export { acceptsOpenMetrics, openMetricsToPrometheus, renderMetrics } from './metrics-format.js';
export type { HeaderCarrier, IncomingContext, InvalidContextReason } from './propagation.js';
export { extractIncoming, headerString, INVALID_CONTEXT_REASONS, injectContext } from './propagation.js';
export type { PublishOperation, PublishRequest } from './publish.js';
export { startPublish } from './publish.js';
export type { DeadLetterReason, MessagingSystem, Outcome } from './semconv.js';
export {
  HEADER_CORRELATION_ID,
  HEADER_MESSAGE_ID,
  HEADER_ORIGIN_AT,
  HEADER_PUBLISHED_AT,
} from './semconv.js';
export { errorTypeOf } from './spans.js';
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
