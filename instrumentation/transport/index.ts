/**
 * `hoptrace/transport`: the documented kit for instrumenting any broker client with hoptrace's headers,
 * spans and metrics (docs/transport.md). Every transport hoptrace ships (amqp, kafka, bus, bullmq, aws,
 * pubsub) is built on it and imports nothing else of the core but the names in `core/semconv.ts`.
 *
 *   const instr = createInstrumentation('nats', 'nats', options);
 *   const op = startPublish(instr, { destination, operationName: 'send', headers, message });
 *   client.publish(subject, data, { headers: op.headers }); op.end();
 *   const delivery = startDelivery(instr, { destination, headers, message });
 *   runHandler(instr.guard, delivery, () => handler(msg), { succeeded: ..., failed: ... });
 */

export { HoptraceInstrumentation, type HoptraceInstrumentationConfig } from '../core/auto-instrumentation.js';
export type {
  BatchDelivery,
  BatchDeliveryRequest,
  BatchMessage,
  BatchMessageRequest,
} from '../core/batch.js';
export { startBatchDelivery } from '../core/batch.js';
export type { DeadLetterDestination, DeadLetterDetails } from '../core/dead-letter.js';
export {
  DEAD_LETTER_SUFFIX,
  deadLetterDestinationFor,
  deadLetterErrorText,
  deadLetterHeaders,
  deadLetterInfoOf,
  MAX_DEAD_LETTER_ERROR_LENGTH,
  settleDeadLettered,
} from '../core/dead-letter.js';
export type { DeadLetterInfo, Delivery, DeliveryRequest, SettleDetail } from '../core/delivery.js';
export { DEFAULT_SETTLE_TIMEOUT_MS, startDelivery } from '../core/delivery.js';
export type { DestinationTraits } from '../core/destinations.js';
export {
  destinationAttributes,
  destinationLabelOf,
  destinationPlaceholder,
  NAMED_DESTINATION,
  traitsOfName,
} from '../core/destinations.js';
export type { HoptraceErrorOptions } from '../core/errors.js';
export { HoptraceError, isHoptraceError } from '../core/errors.js';
export { currentOriginAt } from '../core/flow.js';
export type {
  AwaitedHandlerOutcome,
  HandlerOutcome,
  HandlerScope,
  RunHandlerOptions,
} from '../core/handler.js';
export { runHandler, runHandlerAwaited } from '../core/handler.js';
export { randomId } from '../core/ids.js';
export type { Instrumentation } from '../core/instrumentation.js';
export { createInstrumentation } from '../core/instrumentation.js';
export type {
  LagGauges,
  LagLabel,
  LagLabels,
  LagSource,
  LagStatusLabel,
  LagStatusLabels,
  LagWriter,
} from '../core/lag-gauges.js';
export { agedSeconds, lagGauges, type SecondsAging } from '../core/lag-gauges.js';
export { LazyClient } from '../core/lazy-client.js';
export type { MetricsRegistry } from '../core/metrics.js';
export { metricsRegistry } from '../core/metrics.js';
export type { OptionPolicy, OptionRule } from '../core/options.js';
export {
  DEFAULT_OPTIONS,
  positiveInt,
  RULES,
  resolveOption,
  throwPolicy,
  warnPolicy,
} from '../core/options.js';
export type { HeaderCarrier, IncomingContext, InvalidContextReason } from '../core/propagation.js';
export { extractIncoming, headerString, injectContext, parseEpochMillis } from '../core/propagation.js';
export type { PublishOperation, PublishRequest } from '../core/publish.js';
export { startPublish } from '../core/publish.js';
export type { Guard } from '../core/safe.js';
export { guardFor } from '../core/safe.js';
export type { DeadLetterReason, MessagingSystem, Outcome } from '../core/semconv.js';
export {
  HEADER_CORRELATION_ID,
  HEADER_MESSAGE_ID,
  HEADER_ORIGIN_AT,
  HEADER_PUBLISHED_AT,
} from '../core/semconv.js';
export { errorTypeOf, recordError } from '../core/spans.js';
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
} from '../core/types.js';
export { isPromiseLike, shallowCopy } from '../core/utils.js';
