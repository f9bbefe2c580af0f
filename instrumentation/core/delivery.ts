/**
 * The consumer side of every transport: one delivery's span, handler context and metrics.
 *
 * Lifecycle: `startDelivery` (span starts, in-flight +1, ages observed) -> `run(handler)` (handler runs in
 * the delivery's context; its result or error passes through untouched) -> `settle(outcome)` (consumed +1,
 * process duration). The span ends once the handler has finished and the outcome is known; a delivery
 * the wrapper cannot settle (channel closed) ends with `abandon()`. A handler that finishes without
 * settling leaves the span open at most `settleTimeoutMs`, so a forgotten ack cannot leak spans.
 */
import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  type Link,
  propagation,
  type Span,
  trace,
} from '@opentelemetry/api';
import { setCorrelationBaggage } from './correlation.js';
import { withFlow } from './flow.js';
import type { Instrumentation } from './instrumentation.js';
import { extractIncoming, type HeaderCarrier, type IncomingContext } from './propagation.js';
import {
  ATTR_HOPTRACE_DEAD_LETTER_REASON,
  ATTR_HOPTRACE_DEAD_LETTER_SOURCE,
  ATTR_HOPTRACE_DELIVERY_ATTEMPT,
  ATTR_HOPTRACE_HEADER_PREFIX,
  ATTR_HOPTRACE_ORIGIN_AT,
  ATTR_HOPTRACE_OUTCOME,
  ATTR_HOPTRACE_PUBLISHED_AT,
  ATTR_HOPTRACE_SERVICE_NAME,
  ATTR_HOPTRACE_UNSETTLED,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  type DeadLetterReason,
  type Outcome,
} from './semconv.js';
import { recordError, startConsumerSpan } from './spans.js';
import type { ConsumeInfo } from './types.js';

export const DEFAULT_SETTLE_TIMEOUT_MS = 30_000;
const MAX_CAPTURED_HEADER_LENGTH = 256;

export interface DeadLetterInfo {
  reason: DeadLetterReason;
  /** Where the message was dead-lettered from (queue or topic). */
  source?: string;
  /** True when this delivery is the first sight of a new dead-letter event: counts it in metrics. */
  count: boolean;
}

export interface DeliveryRequest<TMessage> {
  /** Queue, topic or bus topic the message was consumed from. */
  destination: string;
  consumerGroup?: string;
  /** `process` (default) or `receive` (pull, e.g. AMQP `get`). */
  operationName?: string;
  /** Raw incoming headers; ignored when `incoming` is given. */
  headers?: HeaderCarrier | null;
  /** Already extracted context (the bus hands its in-process context over). */
  incoming?: IncomingContext;
  /** The producer span itself, in process (the bus); takes precedence over `incoming.remote`. */
  producerSpan?: Span;
  /** Broker-level message ID (AMQP messageId); else `x-hoptrace-message-id`. */
  messageId?: string;
  /** 1 for the first delivery. */
  attempt?: number;
  redelivered?: boolean;
  /** Publish time (epoch ms) when the headers have none, e.g. the Kafka record timestamp. */
  publishedAtFallback?: number;
  deadLetter?: DeadLetterInfo;
  attributes?: Attributes;
  links?: Link[];
  /** The client's message, for hooks. */
  message: TMessage;
  /**
   * How long a span waits for a settle that comes after the handler (default 30 s). `false` when the
   * wrapper itself settles right after the handler (bus, Kafka), so no timer is needed.
   */
  settleTimeoutMs?: number | false;
  /** The consuming service, when it differs from the wrapper's `serviceName` (one bus, several services). */
  serviceName?: string;
  /** Context to build on; default the active one. */
  base?: Context;
}

export interface Delivery {
  readonly span: Span;
  /** The context the handler runs in: span, correlation ID (also as baggage), flow origin, producer baggage. */
  readonly context: Context;
  readonly correlationId: string;
  readonly messageId: string | undefined;
  readonly attempt: number;
  readonly incoming: IncomingContext;
  /** Runs `handler` in the delivery's context. Its value or thrown error passes through untouched. */
  run<T>(handler: () => T): T;
  /** Records the outcome. The first call wins; later calls are ignored. */
  settle(outcome: Outcome, detail?: { error?: unknown; deadLetterReason?: DeadLetterReason }): void;
  /** Ends the delivery without an outcome (its channel closed). */
  abandon(reason: string): void;
  /**
   * No handler runs for this delivery (a pulled message, e.g. AMQP `get`): the span ends at `settle`, or
   * after the settle timeout; the process duration is measured up to the settle.
   */
  awaitSettle(): void;
  readonly settled: boolean;
}

export function startDelivery<TMessage>(
  instr: Instrumentation<never, TMessage>,
  req: DeliveryRequest<TMessage>,
): Delivery {
  return instr.guard.run(
    'delivery',
    () => startDeliveryUnguarded(instr, req),
    () => untracedDelivery(req),
  );
}

function untracedDelivery(req: DeliveryRequest<unknown>): Delivery {
  let settled = false;
  return {
    span: trace.wrapSpanContext(INVALID_SPAN_CONTEXT),
    context: req.base ?? context.active(),
    correlationId: '',
    messageId: req.messageId,
    attempt: req.attempt ?? 1,
    incoming: { context: context.active(), invalid: [] },
    run: (handler) => handler(),
    settle() {
      settled = true;
    },
    abandon() {
      settled = true;
    },
    awaitSettle() {},
    get settled() {
      return settled;
    },
  };
}

type HandlerState = 'none' | 'running' | 'done';

function startDeliveryUnguarded<TMessage>(
  instr: Instrumentation<never, TMessage>,
  req: DeliveryRequest<TMessage>,
): Delivery {
  const startedAt = performance.now();
  const now = Date.now();
  const incoming = req.incoming ?? extractIncoming(req.headers, instr.correlationHeader);
  for (const reason of incoming.invalid) instr.metrics.invalidContext(instr.system, reason);

  const correlationId = incoming.correlationId ?? instr.generateCorrelationId();
  const messageId = req.messageId ?? incoming.messageId;
  const attempt = req.attempt && req.attempt > 0 ? Math.floor(req.attempt) : 1;
  const publishedAt = incoming.publishedAt ?? req.publishedAtFallback;
  const originAt = incoming.originAt ?? publishedAt ?? now;

  const attributes: Attributes = {
    ...req.attributes,
    [ATTR_MESSAGING_MESSAGE_CONVERSATION_ID]: correlationId,
    [ATTR_HOPTRACE_DELIVERY_ATTEMPT]: attempt,
  };
  if (messageId !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ID] = messageId;
  if (req.consumerGroup !== undefined) attributes[ATTR_MESSAGING_CONSUMER_GROUP_NAME] = req.consumerGroup;
  const serviceName = req.serviceName ?? instr.serviceName;
  if (serviceName) attributes[ATTR_HOPTRACE_SERVICE_NAME] = serviceName;
  if (publishedAt !== undefined) attributes[ATTR_HOPTRACE_PUBLISHED_AT] = publishedAt;
  attributes[ATTR_HOPTRACE_ORIGIN_AT] = originAt;
  if (req.deadLetter) {
    attributes[ATTR_HOPTRACE_DEAD_LETTER_REASON] = req.deadLetter.reason;
    if (req.deadLetter.source) attributes[ATTR_HOPTRACE_DEAD_LETTER_SOURCE] = req.deadLetter.source;
  }
  if (instr.captureHeaders.length > 0 && req.headers)
    captureHeaders(attributes, req.headers, instr.captureHeaders);

  // The handler's context carries the producer's baggage, plus our correlation ID and flow origin.
  let base = req.base ?? context.active();
  const messageBaggage = propagation.getBaggage(incoming.context);
  if (messageBaggage) base = propagation.setBaggage(base, messageBaggage);
  base = withFlow(setCorrelationBaggage(base, correlationId), { correlationId, originAt, serviceName });

  const span = startConsumerSpan(
    instr.tracer,
    {
      system: instr.system,
      destination: req.destination,
      operationName: req.operationName ?? 'process',
      remote: req.producerSpan ?? incoming.remote,
      linkMode: instr.linkMode,
      links: req.links,
      attributes,
    },
    base,
  );
  const handlerContext = trace.setSpan(base, span);

  const series = instr.metrics.consumer(instr.system, req.destination, req.consumerGroup);
  const spanContext = span.spanContext();
  series.started(
    publishedAt !== undefined ? (now - publishedAt) / 1000 : undefined,
    (now - originAt) / 1000,
    spanContext,
  );
  if (req.redelivered || attempt > 1) series.redelivered();
  if (req.deadLetter?.count) series.deadLettered(req.deadLetter.reason);

  const info: ConsumeInfo<TMessage> = {
    system: instr.system,
    destination: req.destination,
    consumerGroup: req.consumerGroup,
    correlationId,
    messageId,
    attempt,
    message: req.message,
  };
  const consumeHook = instr.hooks.consumeHook;
  if (consumeHook) instr.guard.do('consumeHook', () => consumeHook(span, info));

  let handlerState: HandlerState = 'none';
  let handlerEndedAt: number | undefined;
  let settled = false;
  let spanEnded = false;
  let settleTimer: NodeJS.Timeout | undefined;
  const settleTimeoutMs = req.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;

  const endSpan = () => {
    if (spanEnded) return;
    spanEnded = true;
    if (settleTimer) clearTimeout(settleTimer);
    span.end();
  };
  const maybeEnd = () => {
    if (handlerState === 'running') return;
    if (settled) {
      endSpan();
      return;
    }
    if (handlerState === 'done' && settleTimeoutMs !== false && !settleTimer && !spanEnded) {
      // The handler is done but the message is not settled yet (a later ack): wait, but not forever.
      settleTimer = setTimeout(() => {
        span.setAttribute(ATTR_HOPTRACE_UNSETTLED, true);
        endSpan();
      }, settleTimeoutMs);
      settleTimer.unref();
    }
  };
  const handlerFinished = () => {
    handlerState = 'done';
    handlerEndedAt = performance.now();
    instr.guard.do('delivery end', maybeEnd);
  };

  return {
    span,
    context: handlerContext,
    correlationId,
    messageId,
    attempt,
    incoming,
    get settled() {
      return settled;
    },
    run<T>(handler: () => T): T {
      handlerState = 'running';
      let result: T;
      try {
        result = context.with(handlerContext, handler);
      } catch (err) {
        handlerFinished();
        throw err;
      }
      if (isPromiseLike(result)) {
        // Observe the promise without changing what the caller awaits: same value, same rejection.
        result.then(handlerFinished, handlerFinished);
      } else {
        handlerFinished();
      }
      return result;
    },
    settle(outcome, detail) {
      if (settled) return;
      settled = true;
      instr.guard.do('settle', () => {
        const error = detail?.error;
        const errorType = error !== undefined ? recordError(span, error) : '';
        span.setAttribute(ATTR_HOPTRACE_OUTCOME, outcome);
        if (detail?.deadLetterReason)
          span.setAttribute(ATTR_HOPTRACE_DEAD_LETTER_REASON, detail.deadLetterReason);
        const processedMs = (handlerEndedAt ?? performance.now()) - startedAt;
        series.finished(outcome, processedMs / 1000, errorType, spanContext);
        const settleHook = instr.hooks.settleHook;
        if (settleHook) {
          instr.guard.do('settleHook', () =>
            settleHook(span, { ...info, outcome, error, deadLetterReason: detail?.deadLetterReason }),
          );
        }
        maybeEnd();
      });
    },
    awaitSettle() {
      if (handlerState !== 'none') return;
      handlerState = 'done';
      instr.guard.do('delivery end', maybeEnd);
    },
    abandon(reason) {
      if (settled) return;
      settled = true;
      instr.guard.do('abandon', () => {
        span.setAttribute(ATTR_HOPTRACE_UNSETTLED, true);
        span.addEvent('hoptrace.abandoned', { reason });
        series.abandoned();
        endSpan();
      });
    },
  };
}

function isPromiseLike<T>(value: T): value is T & PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function captureHeaders(attributes: Attributes, headers: HeaderCarrier, names: readonly string[]): void {
  for (const name of names) {
    const value = headers[name];
    let text: string | undefined;
    if (typeof value === 'string') text = value;
    else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
    else if (value instanceof Uint8Array) text = Buffer.from(value).toString('utf8');
    if (text !== undefined)
      attributes[`${ATTR_HOPTRACE_HEADER_PREFIX}${name}`] = text.slice(0, MAX_CAPTURED_HEADER_LENGTH);
  }
}
