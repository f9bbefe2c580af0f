/**
 * `hoptrace/transport`: the kit for instrumenting any broker client with hoptrace's headers, spans
 * and metrics. Every transport hoptrace ships (amqp, kafka, bus, bullmq, aws, pubsub) is built on it.
 *
 *   const instr = createInstrumentation('nats', 'nats', options);
 *   const op = startPublish(instr, { destination, operationName: 'send', headers, message });
 *   client.publish(subject, data, { headers: op.headers }); op.end();
 *   const delivery = startDelivery(instr, { destination, headers, message });
 *   delivery.run(() => handler(msg)) ... delivery.settle('ack');
 */

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
export type { HoptraceErrorOptions } from '../core/errors.js';
export { HoptraceError, isHoptraceError } from '../core/errors.js';
export type {
  AwaitedHandlerOutcome,
  HandlerOutcome,
  HandlerScope,
  RunHandlerOptions,
} from '../core/handler.js';
export { runHandler, runHandlerAwaited } from '../core/handler.js';
export type { Instrumentation } from '../core/instrumentation.js';
export { createInstrumentation } from '../core/instrumentation.js';
export { LazyClient } from '../core/lazy-client.js';
export type { HeaderCarrier, IncomingContext, InvalidContextReason } from '../core/propagation.js';
export { extractIncoming, headerString, injectContext } from '../core/propagation.js';
export type { PublishOperation, PublishRequest } from '../core/publish.js';
export { startPublish } from '../core/publish.js';
export type { DeadLetterReason, MessagingSystem, Outcome } from '../core/semconv.js';
export {
  HEADER_CORRELATION_ID,
  HEADER_MESSAGE_ID,
  HEADER_ORIGIN_AT,
  HEADER_PUBLISHED_AT,
} from '../core/semconv.js';
export { errorTypeOf } from '../core/spans.js';
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
