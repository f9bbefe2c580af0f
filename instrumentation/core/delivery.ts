/**
 * The consumer side of every transport: one delivery's span, handler context and metrics.
 *
 * Lifecycle: `startDelivery` (span starts, in-flight +1, ages observed) -> `run(handler)` (handler runs in
 * the delivery's context; its result or error passes through untouched) -> `settle(outcome)` (consumed +1,
 * process duration). The span ends once the handler has finished and the outcome is known; a delivery
 * the wrapper cannot settle (channel closed) ends with `abandon()`. A handler that finishes without
 * settling leaves the span open at most `settleTimeoutMs`, so a forgotten ack cannot leak spans.
 */
// The module's binding: the global `performance` is a lazy getter on Node 20 (20 ns per read).
import { performance } from 'node:perf_hooks';
import {
  type Attributes,
  type Baggage,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  trace,
} from '@opentelemetry/api';
import { wallClockAt } from './clock.js';
import { BAGGAGE_KEY, LayeredContext } from './context.js';
import { resolveIncomingCorrelationId, withCorrelationEntry } from './correlation.js';
import { FLOW_KEY, type Flow, flowOf, withFlow } from './flow.js';
import type { Instrumentation } from './instrumentation.js';
import type { ConsumerSeries } from './metrics.js';
import { DEFAULT_OPTIONS } from './options.js';
import { extractIncoming, type HeaderCarrier, headerString, type IncomingContext } from './propagation.js';
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
  FAILED_OUTCOMES,
  type Outcome,
} from './semconv.js';
import { recordError, recordOutcomeStatus, startConsumerSpan } from './spans.js';
import type { ConsumeInfo } from './types.js';
import { isPromiseLike } from './utils.js';

export const DEFAULT_SETTLE_TIMEOUT_MS = DEFAULT_OPTIONS.settleTimeoutMs;
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
  /** Raw incoming headers; with `incoming` given they are read only for `captureHeaders`. */
  headers?: HeaderCarrier | null;
  /** Already extracted context (the bus hands its in-process context over). */
  incoming?: IncomingContext;
  /** The producer span itself, in process (the bus); takes precedence over `incoming.remote`. */
  producerSpan?: Span;
  /** Broker-level message ID (AMQP messageId); else `x-hoptrace-message-id`. */
  messageId?: string;
  /** The application's own correlation ID (AMQP `correlationId` property): used when no header carries one. */
  applicationCorrelationId?: unknown;
  /** 1 for the first delivery. */
  attempt?: number;
  redelivered?: boolean;
  /** Publish time (epoch ms) when the headers have none, e.g. the Kafka record timestamp. */
  publishedAtFallback?: number;
  deadLetter?: DeadLetterInfo;
  /** Span attributes; a function is called only for a recording (sampled) span. */
  attributes?: Attributes | (() => Attributes);
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
  /**
   * The metrics series of (destination, consumer group), when the wrapper keeps it from an earlier delivery
   * (`instr.metrics.consumer(...)`): spares the lookup per message.
   */
  series?: ConsumerSeries;
}

/** What `settle` may say besides the outcome. */
export interface SettleDetail {
  /** The handler's error, when it failed. */
  error?: unknown;
  deadLetterReason?: DeadLetterReason;
  /**
   * Count this settle in `hoptrace_dead_lettered_messages_total{reason}`: the settle is the dead-lettering
   * itself (hoptrace wrote the dead letter: see `settleDeadLettered`), or the consumer that gives up is the
   * only one that knows (Pub/Sub's dead-letter policy).
   */
  countDeadLetter?: boolean;
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
  settle(outcome: Outcome, detail?: SettleDetail): void;
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
  try {
    return new TracedDelivery(instr, req);
  } catch (err) {
    instr.guard.report('delivery', err);
    return new UntracedDelivery(req);
  }
}

/** What a delivery becomes when hoptrace itself failed: the handler still runs, nothing is recorded. */
class UntracedDelivery implements Delivery {
  readonly span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
  readonly context: Context;
  readonly correlationId = '';
  readonly messageId: string | undefined;
  readonly attempt: number;
  readonly incoming: IncomingContext = { context: ROOT_CONTEXT, invalid: [] };
  settled = false;

  constructor(req: DeliveryRequest<unknown>) {
    this.context = req.base ?? context.active();
    this.messageId = req.messageId;
    this.attempt = req.attempt ?? 1;
  }
  run<T>(handler: () => T): T {
    return handler();
  }
  settle(): void {
    this.settled = true;
  }
  abandon(): void {
    this.settled = true;
  }
  awaitSettle(): void {}
}

enum HandlerState {
  None,
  Running,
  Done,
}

class TracedDelivery<TMessage> implements Delivery {
  readonly span: Span;
  readonly context: Context;
  readonly correlationId: string;
  readonly messageId: string | undefined;
  readonly attempt: number;
  readonly incoming: IncomingContext;
  settled = false;

  private readonly instr: Instrumentation<never, TMessage>;
  private readonly req: DeliveryRequest<TMessage>;
  private readonly series: ConsumerSeries;
  private readonly startedAt = performance.now();
  /** Wall-clock time at `startedAt`; later wall times derive from the monotonic clock. */
  private readonly startedAtWall = wallClockAt(this.startedAt);
  private readonly settleTimeoutMs: number | false;
  private handlerState = HandlerState.None;
  private handlerEndedAt: number | undefined;
  private handlerError: unknown;
  private spanEnded = false;
  private settleTimer: NodeJS.Timeout | undefined;
  /** Created on first use: only a handler that returns a promise needs them. */
  private onHandlerFulfilled: (() => void) | undefined;
  private onHandlerRejected: ((error: unknown) => void) | undefined;

  constructor(instr: Instrumentation<never, TMessage>, req: DeliveryRequest<TMessage>) {
    this.instr = instr;
    this.req = req;
    this.settleTimeoutMs = req.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
    const now = this.startedAtWall;
    const incoming = req.incoming ?? extractIncoming(req.headers, instr.correlationHeader);
    this.incoming = incoming;
    for (const reason of incoming.invalid) instr.metrics.invalidContext(instr.system, reason);

    const correlationId = resolveIncomingCorrelationId(
      incoming.correlationId,
      req.applicationCorrelationId,
      instr.generateCorrelationId,
    );
    this.correlationId = correlationId;
    this.messageId = req.messageId ?? incoming.messageId;
    this.attempt = req.attempt && req.attempt > 0 ? Math.floor(req.attempt) : 1;
    const publishedAt = incoming.publishedAt ?? req.publishedAtFallback;
    const originAt = incoming.originAt ?? publishedAt ?? now;
    const serviceName = req.serviceName ?? instr.serviceName;

    // The handler's context carries the producer's baggage, plus our correlation ID and flow origin.
    const base = handlerBase(
      LayeredContext.over(req.base ?? context.active()),
      propagation.getBaggage(incoming.context),
      correlationId,
      originAt,
      serviceName,
    );

    const span = startConsumerSpan(
      instr.tracer,
      {
        system: instr.system,
        destination: req.destination,
        operationName: req.operationName ?? 'process',
        remote: req.producerSpan ?? incoming.remote,
        linkMode: instr.linkMode,
        links: req.links,
      },
      base,
    );
    this.span = span;
    // Only a recording span needs its attributes; unsampled deliveries skip building them.
    if (span.isRecording()) this.setAttributes(span, publishedAt, originAt, serviceName);
    this.context = trace.setSpan(base, span);

    this.series = req.series ?? instr.metrics.consumer(instr.system, req.destination, req.consumerGroup);
    const spanContext = span.spanContext();
    this.series.started(
      publishedAt !== undefined ? (now - publishedAt) / 1000 : undefined,
      (now - originAt) / 1000,
      spanContext,
      now,
    );
    if (req.redelivered || this.attempt > 1) this.series.redelivered();
    if (req.deadLetter?.count) this.series.deadLettered(req.deadLetter.reason);

    const consumeHook = instr.hooks.consumeHook;
    if (consumeHook) instr.guard.do('consumeHook', () => consumeHook(span, this.info()));
  }

  /** The contract's attributes, set one by one: no intermediate object for the SDK to copy again. */
  private setAttributes(
    span: Span,
    publishedAt: number | undefined,
    originAt: number,
    serviceName: string | undefined,
  ): void {
    const req = this.req;
    const given = req.attributes;
    if (given !== undefined) span.setAttributes(typeof given === 'function' ? given() : given);
    span.setAttribute(ATTR_MESSAGING_MESSAGE_CONVERSATION_ID, this.correlationId);
    span.setAttribute(ATTR_HOPTRACE_DELIVERY_ATTEMPT, this.attempt);
    span.setAttribute(ATTR_HOPTRACE_ORIGIN_AT, originAt);
    if (this.messageId !== undefined) span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, this.messageId);
    if (req.consumerGroup !== undefined)
      span.setAttribute(ATTR_MESSAGING_CONSUMER_GROUP_NAME, req.consumerGroup);
    if (serviceName) span.setAttribute(ATTR_HOPTRACE_SERVICE_NAME, serviceName);
    if (publishedAt !== undefined) span.setAttribute(ATTR_HOPTRACE_PUBLISHED_AT, publishedAt);
    if (req.deadLetter) {
      span.setAttribute(ATTR_HOPTRACE_DEAD_LETTER_REASON, req.deadLetter.reason);
      if (req.deadLetter.source) span.setAttribute(ATTR_HOPTRACE_DEAD_LETTER_SOURCE, req.deadLetter.source);
    }
    if (this.instr.captureHeaders.length > 0 && req.headers) {
      captureHeaders(span, req.headers, this.instr.captureHeaders);
    }
  }

  private info(): ConsumeInfo<TMessage> {
    return {
      system: this.instr.system,
      destination: this.req.destination,
      consumerGroup: this.req.consumerGroup,
      correlationId: this.correlationId,
      messageId: this.messageId,
      attempt: this.attempt,
      message: this.req.message,
    };
  }

  run<T>(handler: () => T): T {
    this.handlerState = HandlerState.Running;
    let result: T;
    try {
      result = context.with(this.context, handler);
    } catch (err) {
      this.handlerFinished(true, err);
      throw err;
    }
    if (isPromiseLike(result)) {
      // Observe the promise without changing what the caller awaits: same value, same rejection.
      this.onHandlerFulfilled ??= () => this.handlerFinished(false, undefined);
      this.onHandlerRejected ??= (err: unknown) => this.handlerFinished(true, err);
      result.then(this.onHandlerFulfilled, this.onHandlerRejected);
    } else {
      this.handlerFinished(false, undefined);
    }
    return result;
  }

  awaitSettle(): void {
    if (this.handlerState !== HandlerState.None) return;
    this.handlerState = HandlerState.Done;
    try {
      this.maybeEnd();
    } catch (err) {
      this.instr.guard.report('delivery end', err);
    }
  }

  settle(outcome: Outcome, detail?: SettleDetail): void {
    if (this.settled) return;
    this.settled = true;
    try {
      const span = this.span;
      const error = detail?.error;
      span.setAttribute(ATTR_HOPTRACE_OUTCOME, outcome);
      // A failed outcome settled without an error (an AMQP nack after the handler threw): the
      // handler's error, when there was one, still names the failure.
      const spanError = error === undefined && FAILED_OUTCOMES.has(outcome) ? this.handlerError : error;
      const recorded = recordOutcomeStatus(span, outcome, spanError);
      // Metrics keep labelling only the error the wrapper settled with.
      const errorType = error !== undefined ? recorded : '';
      if (detail?.deadLetterReason) {
        span.setAttribute(ATTR_HOPTRACE_DEAD_LETTER_REASON, detail.deadLetterReason);
        if (detail.countDeadLetter) this.series.deadLettered(detail.deadLetterReason);
      }
      // A wrapper that settles right after the handler (no settle timeout): the handler's end is the settle time.
      const settledAt =
        this.settleTimeoutMs === false && this.handlerEndedAt !== undefined
          ? this.handlerEndedAt
          : performance.now();
      this.series.finished(
        outcome,
        ((this.handlerEndedAt ?? settledAt) - this.startedAt) / 1000,
        errorType,
        span.spanContext(),
        this.startedAtWall + (settledAt - this.startedAt),
      );
      const settleHook = this.instr.hooks.settleHook;
      if (settleHook) {
        this.instr.guard.do('settleHook', () =>
          settleHook(span, { ...this.info(), outcome, error, deadLetterReason: detail?.deadLetterReason }),
        );
      }
      this.maybeEnd();
    } catch (err) {
      this.instr.guard.report('settle', err);
    }
  }

  abandon(reason: string): void {
    if (this.settled) return;
    this.settled = true;
    this.instr.guard.do('abandon', () => {
      this.span.setAttribute(ATTR_HOPTRACE_UNSETTLED, true);
      this.span.addEvent('hoptrace.abandoned', { reason });
      this.series.abandoned();
      this.endSpan();
    });
  }

  private handlerFinished(failed: boolean, error: unknown): void {
    this.handlerState = HandlerState.Done;
    this.handlerEndedAt = performance.now();
    if (failed) this.handlerError = error;
    try {
      // A handler that settled its message (an ack) and then failed: the span still shows the failure.
      if (failed && this.settled && !this.spanEnded) recordError(this.span, error);
      this.maybeEnd();
    } catch (err) {
      this.instr.guard.report('delivery end', err);
    }
  }

  private endSpan(): void {
    if (this.spanEnded) return;
    this.spanEnded = true;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.span.end();
  }

  private maybeEnd(): void {
    if (this.handlerState === HandlerState.Running) return;
    if (this.settled) {
      this.endSpan();
      return;
    }
    if (
      this.handlerState === HandlerState.Done &&
      this.settleTimeoutMs !== false &&
      !this.settleTimer &&
      !this.spanEnded
    ) {
      // The handler is done but the message is not settled yet (a later ack): wait, but not forever.
      this.settleTimer = setTimeout(() => {
        this.span.setAttribute(ATTR_HOPTRACE_UNSETTLED, true);
        this.endSpan();
      }, this.settleTimeoutMs);
      this.settleTimer.unref();
    }
  }
}

/**
 * The context a handler starts from: `base` with the producer's baggage (when it differs), the correlation
 * entry and the flow, in one context copy, or none when `base` says all that already (the bus).
 */
function handlerBase(
  base: LayeredContext,
  messageBaggage: Baggage | undefined,
  correlationId: string,
  originAt: number,
  serviceName: string | undefined,
): Context {
  const baseBaggage = propagation.getBaggage(base);
  const carried = messageBaggage && messageBaggage !== baseBaggage ? messageBaggage : baseBaggage;
  const baggage = withCorrelationEntry(carried, correlationId) ?? carried;
  const flow = flowOf(base);
  const flowChanged =
    flow?.correlationId !== correlationId || flow.originAt !== originAt || flow.serviceName !== serviceName;
  const newFlow: Flow | undefined = flowChanged ? { correlationId, originAt, serviceName } : undefined;
  if (baggage === baseBaggage && !newFlow) return base;
  if (BAGGAGE_KEY === undefined) {
    const withBaggage = baggage === baseBaggage ? base : propagation.setBaggage(base, baggage as Baggage);
    return newFlow ? withFlow(withBaggage, newFlow) : withBaggage;
  }
  if (baggage === baseBaggage) return withFlow(base, newFlow as Flow);
  return base.setValues(BAGGAGE_KEY, baggage, newFlow ? FLOW_KEY : undefined, newFlow);
}

function captureHeaders(span: Span, headers: HeaderCarrier, names: readonly string[]): void {
  for (const name of names) {
    const value = headers[name];
    const text =
      typeof value === 'number' || typeof value === 'boolean' ? String(value) : headerString(value);
    if (text !== undefined)
      span.setAttribute(`${ATTR_HOPTRACE_HEADER_PREFIX}${name}`, text.slice(0, MAX_CAPTURED_HEADER_LENGTH));
  }
}
