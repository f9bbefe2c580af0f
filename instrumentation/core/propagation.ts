/**
 * Trace context, baggage and hoptrace headers into and out of message headers.
 *
 * Incoming values are validated before the propagator sees them: a bad or oversized value is dropped,
 * reported as an {@link InvalidContextReason}, and the message starts a new trace. Nothing here throws
 * on bad input. Carriers are plain header objects whose values may be strings, Buffers / Uint8Arrays
 * (Kafka, AMQP byte arrays) or arrays of those (Kafka's repeated headers).
 */
import {
  type Context,
  defaultTextMapGetter,
  propagation,
  ROOT_CONTEXT,
  type SpanContext,
  type TextMapPropagator,
  trace,
} from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { isValidCorrelationId } from './correlation.js';
import {
  HEADER_BAGGAGE,
  HEADER_CORRELATION_ID,
  HEADER_MESSAGE_ID,
  HEADER_ORIGIN_AT,
  HEADER_PUBLISHED_AT,
  HEADER_TRACEPARENT,
  HEADER_TRACESTATE,
} from './semconv.js';

/** Message headers as the clients hand them over; values of any type may arrive. */
export type HeaderCarrier = Record<string, unknown>;

/** Why an incoming header was ignored (`hoptrace_invalid_context_total{reason}`). A closed set. */
export type InvalidContextReason =
  | 'traceparent_malformed'
  | 'traceparent_oversized'
  | 'traceparent_duplicate'
  | 'tracestate_invalid'
  | 'baggage_invalid'
  | 'header_type'
  | 'correlation_id_invalid'
  | 'timestamp_invalid'
  | 'message_id_invalid';

export const INVALID_CONTEXT_REASONS: readonly InvalidContextReason[] = [
  'traceparent_malformed',
  'traceparent_oversized',
  'traceparent_duplicate',
  'tracestate_invalid',
  'baggage_invalid',
  'header_type',
  'correlation_id_invalid',
  'timestamp_invalid',
  'message_id_invalid',
];

/** Size limits from W3C Trace Context (tracestate 512 chars, 32 members) and W3C Baggage (8192 bytes). */
export const LIMITS = {
  traceparentLength: 512,
  tracestateLength: 512,
  tracestateMembers: 32,
  baggageLength: 8192,
  otherFieldLength: 8192,
  messageIdLength: 256,
} as const;

const TRACEPARENT_V00 = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
// Future versions may append fields; version ff is forbidden.
const TRACEPARENT_FUTURE = /^(?!ff)[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[\x21-\x7e]*)?$/;
const PRINTABLE = /^[\x20-\x7e]*$/;

const defaultPropagator = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
});

/** The registered global propagator, or W3C trace context + baggage when none is registered. */
export function activePropagator(): TextMapPropagator {
  return propagation.fields().length > 0 ? (propagation as unknown as TextMapPropagator) : defaultPropagator;
}

/** What one incoming message says about where it came from. */
export interface IncomingContext {
  /** ROOT_CONTEXT plus the producer's span context and baggage, when valid. */
  context: Context;
  /** The producer's span context; absent when the message had none or it was invalid. */
  remote?: SpanContext;
  correlationId?: string;
  /** Epoch ms from `x-hoptrace-published-at`. */
  publishedAt?: number;
  /** Epoch ms from `x-hoptrace-origin-at`. */
  originAt?: number;
  /** `x-hoptrace-message-id` (Kafka); AMQP carries its own messageId property. */
  messageId?: string;
  /** Headers that were present but ignored; the caller counts them. */
  invalid: InvalidContextReason[];
}

/** Decodes one header value to text. Returns `null` for values of a type no header should have. */
function headerText(value: unknown): string | string[] | null {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  if (Array.isArray(value)) {
    const out: string[] = [];
    for (const item of value) {
      const text = headerText(item);
      if (typeof text !== 'string') return null;
      out.push(text);
    }
    return out;
  }
  return null;
}

/** One value out of a possibly repeated header: identical repeats collapse, differing ones are a conflict. */
function single(text: string | string[]): string | 'conflict' {
  if (typeof text === 'string') return text;
  if (text.length === 0) return '';
  const first = text[0] as string;
  return text.every((t) => t === first) ? first : 'conflict';
}

/**
 * One header value as text: a string, or UTF-8 bytes (Kafka and AMQP hand headers over as Buffers), or
 * a repeated header whose copies agree. `undefined` for anything else. Never throws.
 */
export function headerString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = headerText(value);
  if (text === null) return undefined;
  const one = single(text);
  return one === 'conflict' ? undefined : one;
}

function readTraceparent(raw: unknown, invalid: InvalidContextReason[]): string | undefined {
  const text = headerText(raw);
  if (text === null) {
    invalid.push('header_type');
    return undefined;
  }
  const value = single(text);
  if (value === 'conflict') {
    invalid.push('traceparent_duplicate');
    return undefined;
  }
  if (value.length > LIMITS.traceparentLength) {
    invalid.push('traceparent_oversized');
    return undefined;
  }
  const trimmed = value.trim();
  if (!TRACEPARENT_V00.test(trimmed) && !TRACEPARENT_FUTURE.test(trimmed)) {
    invalid.push('traceparent_malformed');
    return undefined;
  }
  if (trimmed.startsWith('00-') && trimmed.length !== 55) {
    invalid.push('traceparent_malformed');
    return undefined;
  }
  return trimmed;
}

function readListHeader(
  raw: unknown,
  maxLength: number,
  reason: InvalidContextReason,
  invalid: InvalidContextReason[],
): string | undefined {
  const text = headerText(raw);
  if (text === null) {
    invalid.push('header_type');
    return undefined;
  }
  // Repeated list headers are one list (W3C: combine with commas).
  const value = typeof text === 'string' ? text : text.join(',');
  if (value.length > maxLength || !PRINTABLE.test(value)) {
    invalid.push(reason);
    return undefined;
  }
  return value;
}

/**
 * Epoch milliseconds with 13 digits: years 2001..2286. Anything shorter is not a plausible publish time
 * (epoch seconds, a counter) and would put decades into the message-age histograms.
 */
const EPOCH_MS_MIN = 1e12;
const EPOCH_MS_LIMIT = 1e13;

function readTimestamp(raw: unknown, invalid: InvalidContextReason[]): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'number') {
    if (raw >= EPOCH_MS_MIN && raw < EPOCH_MS_LIMIT) return raw;
    invalid.push('timestamp_invalid');
    return undefined;
  }
  const text = headerText(raw);
  const value = text === null ? 'conflict' : single(text);
  if (value === 'conflict' || !/^\d{13}$/.test(value)) {
    invalid.push(text === null ? 'header_type' : 'timestamp_invalid');
    return undefined;
  }
  return Number(value);
}

function readCorrelationId(raw: unknown, invalid: InvalidContextReason[]): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  const text = headerText(raw);
  const value = text === null ? 'conflict' : single(text);
  if (value === 'conflict' || !isValidCorrelationId(value)) {
    invalid.push(text === null ? 'header_type' : 'correlation_id_invalid');
    return undefined;
  }
  return value;
}

function readMessageId(raw: unknown, invalid: InvalidContextReason[]): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  const text = headerText(raw);
  const value = text === null ? 'conflict' : single(text);
  if (
    value === 'conflict' ||
    value.length === 0 ||
    value.length > LIMITS.messageIdLength ||
    !PRINTABLE.test(value)
  ) {
    invalid.push(text === null ? 'header_type' : 'message_id_invalid');
    return undefined;
  }
  return value;
}

/**
 * Reads everything hoptrace needs from one message's headers.
 * `correlationHeader` is the configured name of the correlation-ID header.
 */
export function extractIncoming(
  headers: HeaderCarrier | null | undefined,
  correlationHeader: string = HEADER_CORRELATION_ID,
): IncomingContext {
  const invalid: InvalidContextReason[] = [];
  if (!headers || typeof headers !== 'object') return { context: ROOT_CONTEXT, invalid };

  const propagator = activePropagator();
  const clean: Record<string, string> = {};
  let hasTraceparent = false;
  for (const field of propagator.fields()) {
    const raw = headers[field];
    if (raw === undefined || raw === null) continue;
    let value: string | undefined;
    if (field === HEADER_TRACEPARENT) {
      value = readTraceparent(raw, invalid);
      hasTraceparent = value !== undefined;
    } else if (field === HEADER_TRACESTATE) {
      value = readListHeader(raw, LIMITS.tracestateLength, 'tracestate_invalid', invalid);
      if (value !== undefined && value.split(',').length > LIMITS.tracestateMembers) {
        invalid.push('tracestate_invalid');
        value = undefined;
      }
    } else if (field === HEADER_BAGGAGE) {
      value = readListHeader(raw, LIMITS.baggageLength, 'baggage_invalid', invalid);
    } else {
      value = readListHeader(raw, LIMITS.otherFieldLength, 'header_type', invalid);
    }
    if (value !== undefined) clean[field] = value;
  }
  // A tracestate without its traceparent means nothing.
  if (!hasTraceparent) delete clean[HEADER_TRACESTATE];

  let context = ROOT_CONTEXT;
  let remote: SpanContext | undefined;
  if (Object.keys(clean).length > 0) {
    context = propagator.extract(ROOT_CONTEXT, clean, defaultTextMapGetter);
    const spanContext = trace.getSpanContext(context);
    if (spanContext && trace.isSpanContextValid(spanContext)) remote = spanContext;
    else if (hasTraceparent) invalid.push('traceparent_malformed'); // e.g. all-zero trace id
  }

  return {
    context,
    remote,
    correlationId: readCorrelationId(headers[correlationHeader], invalid),
    publishedAt: readTimestamp(headers[HEADER_PUBLISHED_AT], invalid),
    originAt: readTimestamp(headers[HEADER_ORIGIN_AT], invalid),
    messageId: readMessageId(headers[HEADER_MESSAGE_ID], invalid),
    invalid,
  };
}

/**
 * Writes `context`'s trace context and baggage into `target` (a copy the caller owns).
 * Keys already present are kept: a caller's own `traceparent` (and its tracestate) is never overwritten.
 */
export function injectContext(context: Context, target: HeaderCarrier): void {
  const callerHasTraceparent = target[HEADER_TRACEPARENT] !== undefined;
  activePropagator().inject(context, target, {
    set(carrier: HeaderCarrier, key: string, value: string) {
      if (carrier[key] !== undefined) return;
      if (callerHasTraceparent && key === HEADER_TRACESTATE) return;
      carrier[key] = value;
    },
  });
}
