/**
 * The producer side of every transport: one span, the outgoing headers, the sent metrics.
 * If any hoptrace step fails, the message goes out exactly as the caller gave it.
 */

// The module's binding: the global `performance` is a lazy getter on Node 20 (20 ns per read).
import { performance } from 'node:perf_hooks';
import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  type Span,
  trace,
} from '@opentelemetry/api';
import { wallClockAt } from './clock.js';
import { BAGGAGE_KEY, LayeredContext, SPAN_KEY } from './context.js';
import { correlationBaggageFor, resolveOutgoingCorrelationId } from './correlation.js';
import { FLOW_KEY, type Flow, flowOf, withFlow } from './flow.js';
import { randomId } from './ids.js';
import type { Instrumentation } from './instrumentation.js';
import { headerString, type InjectOptions, injectContext, parseEpochMillis } from './propagation.js';
import {
  ATTR_HOPTRACE_SERVICE_NAME,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  HEADER_MESSAGE_ID,
  HEADER_ORIGIN_AT,
  HEADER_PUBLISHED_AT,
} from './semconv.js';
import { recordError, startProducerSpan } from './spans.js';
import { shallowCopy } from './utils.js';

export interface PublishRequest<TMessage> {
  /** Exchange (or `amq.default`), topic or bus topic: the span name's and metrics' destination. */
  destination: string;
  /** `publish` for RabbitMQ, `send` for Kafka and the bus. */
  operationName: string;
  /** The caller's headers; never mutated. */
  headers: Record<string, unknown> | null | undefined;
  /** An explicit correlation ID (the wrapper's per-call option). */
  correlationId?: unknown;
  /**
   * The application's own correlation ID on the message (AMQP `correlationId` property): the flow's ID
   * when neither the caller nor the context gives one.
   */
  applicationCorrelationId?: unknown;
  /** The broker-level message ID when the transport has one (AMQP `messageId`). */
  messageId?: string;
  /** Kafka has no message ID: write `x-hoptrace-message-id` (kept when the caller set one). */
  messageIdHeader?: boolean;
  /**
   * The broker carries this publish's time in milliseconds and the consumer reads it (Kafka CreateTime set
   * to `publishedAt`, Pub/Sub `publishTime`): `x-hoptrace-published-at` is left out (lean headers).
   */
  brokerPublishTime?: boolean;
  /** Span attributes; a function is called only for a recording (sampled) span. */
  attributes?: Attributes | (() => Attributes);
  /** The client's message, for hooks. */
  message: TMessage;
  /** Defaults to the active context. */
  parent?: Context;
  /**
   * Write trace context and baggage into the headers (default true). The in-process bus hands the
   * Context object itself to its subscribers, so it skips the serialization.
   */
  inject?: boolean;
}

export interface PublishOperation {
  readonly span: Span;
  /** The producer span's context, carrying the correlation ID and flow origin. */
  readonly context: Context;
  /** A copy of the caller's headers plus hoptrace's. */
  readonly headers: Record<string, unknown>;
  readonly correlationId: string | undefined;
  readonly messageId: string | undefined;
  readonly publishedAt: number;
  /** Records the outcome of the send. Idempotent. */
  end(error?: unknown): void;
}

const LEAN: InjectOptions = { leanBaggage: true };

/** `parent` with the producer span, the correlation baggage and the flow: one context copy instead of three. */
function producerContext(parent: LayeredContext, span: Span, correlationId: string, flow: Flow): Context {
  const baggage = correlationBaggageFor(parent, correlationId);
  if (SPAN_KEY === undefined || BAGGAGE_KEY === undefined) {
    const withSpan = trace.setSpan(parent, span);
    return withFlow(baggage ? propagation.setBaggage(withSpan, baggage) : withSpan, flow);
  }
  return parent.setValues(SPAN_KEY, span, FLOW_KEY, flow, baggage ? BAGGAGE_KEY : undefined, baggage);
}

/**
 * `String(publishedAt)` of the last publish: a 13-digit number takes about 0.3 us to format, and at any real
 * rate many publishes share a millisecond.
 */
let lastPublishedAt = 0;
let lastPublishedAtText = '0';

function publishedAtText(publishedAt: number): string {
  if (publishedAt !== lastPublishedAt) {
    lastPublishedAt = publishedAt;
    lastPublishedAtText = String(publishedAt);
  }
  return lastPublishedAtText;
}

export function startPublish<TMessage>(
  instr: Instrumentation<TMessage, never>,
  req: PublishRequest<TMessage>,
): PublishOperation {
  try {
    return new TracedPublish(instr, req);
  } catch (err) {
    instr.guard.report('publish', err);
    return untracedPublish(req);
  }
}

function untracedPublish(req: PublishRequest<unknown>): PublishOperation {
  const headers = { ...(req.headers ?? {}) };
  return {
    span: trace.wrapSpanContext(INVALID_SPAN_CONTEXT),
    context: context.active(),
    headers,
    correlationId: undefined,
    messageId: req.messageId,
    publishedAt: Date.now(),
    end() {},
  };
}

class TracedPublish<TMessage> implements PublishOperation {
  readonly span: Span;
  readonly context: Context;
  readonly headers: Record<string, unknown>;
  readonly correlationId: string;
  readonly messageId: string | undefined;
  readonly publishedAt: number;
  private readonly startedAt = performance.now();
  private ended = false;

  constructor(
    private readonly instr: Instrumentation<TMessage, never>,
    private readonly req: PublishRequest<TMessage>,
  ) {
    const publishedAt = Math.floor(wallClockAt(this.startedAt));
    this.publishedAt = publishedAt;
    const parent = LayeredContext.over(req.parent ?? context.active());
    const headers: Record<string, unknown> = shallowCopy(req.headers);
    this.headers = headers;

    // Header values may be Buffers (a Kafka consumer forwarding the headers it received): read them as text.
    const correlationId = resolveOutgoingCorrelationId(
      req.correlationId,
      headerString(headers[instr.correlationHeader]),
      parent,
      instr.generateCorrelationId,
      req.applicationCorrelationId,
    );
    this.correlationId = correlationId;
    let messageId = req.messageId;
    if (req.messageIdHeader) {
      const existing = headerString(headers[HEADER_MESSAGE_ID]);
      messageId = existing !== undefined && existing.length > 0 ? existing : randomId();
    }
    this.messageId = messageId;

    const parentFlow = flowOf(parent);
    const serviceName = parentFlow?.serviceName ?? instr.serviceName;
    const span = startProducerSpan(
      instr.tracer,
      { system: instr.system, destination: req.destination, operationName: req.operationName },
      parent,
    );
    this.span = span;
    // Only a recording span needs its attributes; unsampled publishes skip building them.
    if (span.isRecording()) {
      // Set one by one: no intermediate object for the SDK to copy again.
      const given = req.attributes;
      if (given !== undefined) span.setAttributes(typeof given === 'function' ? given() : given);
      span.setAttribute(ATTR_MESSAGING_MESSAGE_CONVERSATION_ID, correlationId);
      if (messageId !== undefined) span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, messageId);
      if (serviceName) span.setAttribute(ATTR_HOPTRACE_SERVICE_NAME, serviceName);
    }

    // A forwarded message's headers name the flow's origin: its origin-at, or (lean: absent on the first
    // hop) its published-at.
    const originAt =
      parseEpochMillis(headers[HEADER_ORIGIN_AT]) ??
      parentFlow?.originAt ??
      parseEpochMillis(headers[HEADER_PUBLISHED_AT]) ??
      publishedAt;
    this.context = producerContext(parent, span, correlationId, {
      correlationId,
      originAt,
      serviceName: parentFlow?.serviceName,
    });
    const spanContext = this.context;

    // Lean headers (CONTRACT.md): baggage only beyond the correlation entry, origin-at only past the first
    // hop, published-at only where the broker has no millisecond publish time.
    if (req.inject !== false) injectContext(spanContext, headers, LEAN);
    headers[instr.correlationHeader] = correlationId;
    if (req.brokerPublishTime === true) {
      if (headers[HEADER_PUBLISHED_AT] !== undefined) delete headers[HEADER_PUBLISHED_AT];
    } else {
      headers[HEADER_PUBLISHED_AT] = publishedAtText(publishedAt);
    }
    if (originAt !== publishedAt) headers[HEADER_ORIGIN_AT] = String(originAt);
    else if (headers[HEADER_ORIGIN_AT] !== undefined) delete headers[HEADER_ORIGIN_AT];
    if (req.messageIdHeader && messageId !== undefined) headers[HEADER_MESSAGE_ID] = messageId;

    const publishHook = instr.hooks.publishHook;
    if (publishHook) {
      instr.guard.do('publishHook', () =>
        publishHook(span, {
          system: instr.system,
          destination: req.destination,
          correlationId,
          messageId,
          headers: { ...headers },
          message: req.message,
        }),
      );
    }
  }

  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    const { instr, req, span } = this;
    try {
      const errorType = error === undefined ? '' : recordError(span, error);
      const series = instr.metrics.producer(instr.system, req.destination, req.operationName);
      series.sent(errorType);
      series.operation(req.operationName, (performance.now() - this.startedAt) / 1000, errorType);
      span.end();
    } catch (err) {
      instr.guard.report('publish end', err);
    }
  }
}
