/**
 * Trace context, baggage and hoptrace headers into and out of message headers.
 *
 * Incoming values are validated before the propagator sees them: a bad or oversized value is dropped,
 * reported as an {@link InvalidContextReason}, and the message starts a new trace. Nothing here throws
 * on bad input. Carriers are plain header objects whose values may be strings, Buffers / Uint8Arrays
 * (Kafka, AMQP byte arrays) or arrays of those (Kafka's repeated headers).
 */
import {
  type Baggage,
  type Context,
  defaultTextMapGetter,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type SpanContext,
  type TextMapPropagator,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  isTracingSuppressed,
  TraceState,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { LayeredContext } from './context.js';
import { CorrelationBaggage, isValidCorrelationId } from './correlation.js';
import {
  BAGGAGE_CORRELATION_ID,
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

const w3cTraceContext = new W3CTraceContextPropagator();
const w3cBaggage = new W3CBaggagePropagator();
const defaultPropagator = new CompositePropagator({ propagators: [w3cTraceContext, w3cBaggage] });

interface PropagatorChoice {
  propagator: TextMapPropagator;
  fields: readonly string[];
  /**
   * The propagator is W3C trace context + baggage (ours, or the OTel core classes registered globally, as
   * an OTel SDK does by default): hoptrace then reads and writes those headers itself, without the
   * propagator's intermediate carriers, regex passes and context copies (about 2.5 us less per extract).
   */
  w3c: boolean;
}

let cachedChoice: { registered: unknown; choice: PropagatorChoice } | undefined;

/**
 * The registered global propagator, or W3C trace context + baggage when none is registered. The decision
 * is cached until another propagator is registered.
 */
function propagatorChoice(): PropagatorChoice {
  const registered = registeredPropagator();
  if (registered !== undefined && cachedChoice?.registered === registered) return cachedChoice.choice;
  const fields = propagation.fields();
  const choice: PropagatorChoice =
    fields.length > 0
      ? {
          propagator: propagation as unknown as TextMapPropagator,
          fields,
          w3c: registered !== undefined && isW3C(registered),
        }
      : { propagator: defaultPropagator, fields: defaultPropagator.fields(), w3c: true };
  if (registered !== undefined) cachedChoice = { registered, choice };
  return choice;
}

/**
 * The propagator registered with the OTel API, by identity, to know when the cached choice is stale.
 * The API keeps it behind `_getGlobalPropagator` (stable across API 1.x); without that, nothing is cached.
 */
function registeredPropagator(): unknown {
  const api = propagation as unknown as { _getGlobalPropagator?: () => unknown };
  return typeof api._getGlobalPropagator === 'function' ? api._getGlobalPropagator() : undefined;
}

/** W3C trace context, or a composite of exactly W3C trace context and W3C baggage. */
function isW3C(registered: unknown): boolean {
  if (registered instanceof W3CTraceContextPropagator) return true;
  if (!(registered instanceof CompositePropagator)) return false;
  const parts = (registered as unknown as { _propagators?: unknown })._propagators;
  return (
    Array.isArray(parts) &&
    parts.length === 2 &&
    parts[0] instanceof W3CTraceContextPropagator &&
    parts[1] instanceof W3CBaggagePropagator
  );
}

/** The registered global propagator, or W3C trace context + baggage when none is registered. */
export function activePropagator(): TextMapPropagator {
  return propagatorChoice().propagator;
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
  if (Buffer.isBuffer(value)) return value.toString('utf8');
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
const EPOCH_MS_TEXT = /^\d{13}$/;

/**
 * The one publish-time rule (`x-hoptrace-published-at`, `-origin-at`, a caller's own origin): 13-digit
 * epoch milliseconds, given as a number, a decimal string or its UTF-8 bytes. Undefined otherwise.
 */
export function parseEpochMillis(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw >= EPOCH_MS_MIN && raw < EPOCH_MS_LIMIT ? raw : undefined;
  const text = raw === undefined || raw === null ? null : headerText(raw);
  const value = text === null ? 'conflict' : single(text);
  return value !== 'conflict' && EPOCH_MS_TEXT.test(value) ? Number(value) : undefined;
}

function readTimestamp(raw: unknown, invalid: InvalidContextReason[]): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  const value = parseEpochMillis(raw);
  if (value === undefined)
    invalid.push(typeof raw !== 'number' && headerText(raw) === null ? 'header_type' : 'timestamp_invalid');
  return value;
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

  const choice = propagatorChoice();
  const { context, remote } = choice.w3c
    ? extractW3C(headers, invalid)
    : extractWith(choice, headers, invalid);
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

type Extracted = Pick<IncomingContext, 'context' | 'remote'>;

/** Validates the propagator's fields, then lets it extract from the values that passed. */
function extractWith(
  choice: PropagatorChoice,
  headers: HeaderCarrier,
  invalid: InvalidContextReason[],
): Extracted {
  const clean: Record<string, string> = {};
  let hasTraceparent = false;
  let cleanCount = 0;
  for (const field of choice.fields) {
    const raw = headers[field];
    if (raw === undefined || raw === null) continue;
    let value: string | undefined;
    if (field === HEADER_TRACEPARENT) {
      value = readTraceparent(raw, invalid);
      hasTraceparent = value !== undefined;
    } else if (field === HEADER_TRACESTATE) {
      value = readTracestate(raw, invalid);
    } else if (field === HEADER_BAGGAGE) {
      value = readListHeader(raw, LIMITS.baggageLength, 'baggage_invalid', invalid);
    } else {
      value = readListHeader(raw, LIMITS.otherFieldLength, 'header_type', invalid);
    }
    if (value !== undefined) {
      clean[field] = value;
      cleanCount++;
    }
  }
  // A tracestate without its traceparent means nothing.
  if (!hasTraceparent && clean[HEADER_TRACESTATE] !== undefined) {
    delete clean[HEADER_TRACESTATE];
    cleanCount--;
  }
  if (cleanCount === 0) return { context: ROOT_CONTEXT, remote: undefined };

  const context = choice.propagator.extract(ROOT_CONTEXT, clean, defaultTextMapGetter);
  const spanContext = trace.getSpanContext(context);
  if (spanContext && isSpanContextValid(spanContext)) return { context, remote: spanContext };
  if (hasTraceparent) invalid.push('traceparent_malformed'); // e.g. all-zero trace id
  return { context, remote: undefined };
}

const ROOT_LAYER = LayeredContext.over(ROOT_CONTEXT);
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
const CORRELATION_BAGGAGE_PREFIX = `${BAGGAGE_CORRELATION_ID}=`;

/**
 * The correlation ID when `baggage` is exactly what hoptrace writes (`correlation.id=<id>`) with nothing
 * the W3C parser would decode, trim or split (only printable ASCII other than space, `%`, `,`, `;`);
 * else undefined, and the W3C propagator parses it.
 */
function ownCorrelationBaggage(baggage: string): string | undefined {
  const prefix = CORRELATION_BAGGAGE_PREFIX;
  const length = baggage.length - prefix.length;
  if (length < 1 || length > 256 || !baggage.startsWith(prefix)) return undefined;
  for (let i = prefix.length; i < baggage.length; i++) {
    const code = baggage.charCodeAt(i);
    if (code <= 0x20 || code > 0x7e || code === 0x25 || code === 0x2c || code === 0x3b) return undefined;
  }
  return baggage.slice(prefix.length);
}

/** W3C trace context and baggage read directly: the same validation and result as `extractWith`. */
function extractW3C(headers: HeaderCarrier, invalid: InvalidContextReason[]): Extracted {
  const rawParent = headers[HEADER_TRACEPARENT];
  const rawState = headers[HEADER_TRACESTATE];
  const rawBaggage = headers[HEADER_BAGGAGE];
  const traceparent =
    rawParent === undefined || rawParent === null ? undefined : readTraceparent(rawParent, invalid);
  const tracestate =
    rawState === undefined || rawState === null ? undefined : readTracestate(rawState, invalid);
  const baggage =
    rawBaggage === undefined || rawBaggage === null
      ? undefined
      : readListHeader(rawBaggage, LIMITS.baggageLength, 'baggage_invalid', invalid);

  let context: Context = ROOT_CONTEXT;
  let remote: SpanContext | undefined;
  if (traceparent !== undefined) {
    // readTraceparent checked the layout: version, trace ID, span ID and flags sit at fixed offsets.
    const traceId = traceparent.slice(3, 35);
    const spanId = traceparent.slice(36, 52);
    if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) {
      invalid.push('traceparent_malformed');
    } else {
      remote = {
        traceId,
        spanId,
        traceFlags: Number.parseInt(traceparent.slice(53, 55), 16),
        isRemote: true,
      };
      if (tracestate !== undefined) remote.traceState = new TraceState(tracestate);
      context = trace.setSpanContext(ROOT_LAYER, remote);
    }
  }
  if (baggage !== undefined) {
    const own = ownCorrelationBaggage(baggage);
    if (own !== undefined) {
      context = propagation.setBaggage(
        context === ROOT_CONTEXT ? ROOT_LAYER : context,
        new CorrelationBaggage(own),
      );
    } else {
      context = w3cBaggage.extract(context, { [HEADER_BAGGAGE]: baggage }, defaultTextMapGetter);
    }
  }
  return { context, remote };
}

function readTracestate(raw: unknown, invalid: InvalidContextReason[]): string | undefined {
  const value = readListHeader(raw, LIMITS.tracestateLength, 'tracestate_invalid', invalid);
  if (value !== undefined && countMembers(value) > LIMITS.tracestateMembers) {
    invalid.push('tracestate_invalid');
    return undefined;
  }
  return value;
}

function countMembers(list: string): number {
  let members = 1;
  for (let i = 0; i < list.length; i++) if (list.charCodeAt(i) === 44 /* , */) members++;
  return members;
}

/** Keeps every key already on the carrier (the caller's own headers win). */
const keepExisting: TextMapSetter<HeaderCarrier> = {
  set(carrier, key, value) {
    if (carrier[key] === undefined) carrier[key] = value;
  },
};

/** Options of {@link injectContext}. */
export interface InjectOptions {
  /**
   * Leave out `baggage` when its only entry is hoptrace's correlation ID (lean headers): the caller writes
   * `x-correlation-id`, from which the consumer restores that entry. Default false (plain propagation).
   */
  leanBaggage?: boolean;
}

/** True when `baggage` says nothing beyond hoptrace's correlation entry. */
function correlationOnly(baggage: Baggage | undefined): boolean {
  if (baggage === undefined) return true;
  if (baggage instanceof CorrelationBaggage) return true;
  const entries = baggage.getAllEntries();
  return (
    entries.length === 0 ||
    (entries.length === 1 &&
      entries[0]?.[0] === BAGGAGE_CORRELATION_ID &&
      entries[0][1].metadata === undefined)
  );
}

/**
 * Writes `context`'s trace context and baggage into `target` (a copy the caller owns).
 * Keys already present are kept: a caller's own `traceparent` (and its tracestate) is never overwritten.
 * `tracestate` is written only when non-empty.
 */
export function injectContext(context: Context, target: HeaderCarrier, options?: InjectOptions): void {
  const callerHasTraceparent = target[HEADER_TRACEPARENT] !== undefined;
  const choice = propagatorChoice();
  const baggage = propagation.getBaggage(context);
  const skipBaggage = options?.leanBaggage === true && correlationOnly(baggage);
  if (!choice.w3c) {
    choice.propagator.inject(
      skipBaggage && baggage !== undefined ? propagation.deleteBaggage(context) : context,
      target,
      {
        set(carrier: HeaderCarrier, key: string, value: string) {
          if (carrier[key] !== undefined) return;
          if (callerHasTraceparent && key === HEADER_TRACESTATE) return;
          if (key === HEADER_TRACESTATE && value === '') return;
          carrier[key] = value;
        },
      },
    );
    return;
  }
  // W3C trace context as W3CTraceContextPropagator writes it; baggage through W3CBaggagePropagator.
  if (!callerHasTraceparent && !isTracingSuppressed(context)) {
    const spanContext = trace.getSpanContext(context);
    if (spanContext && isSpanContextValid(spanContext)) {
      const flags = spanContext.traceFlags & 0xff;
      target[HEADER_TRACEPARENT] =
        `00-${spanContext.traceId}-${spanContext.spanId}-${flags < 16 ? '0' : ''}${flags.toString(16)}`;
      if (spanContext.traceState && target[HEADER_TRACESTATE] === undefined) {
        const state = spanContext.traceState.serialize();
        if (state !== '') target[HEADER_TRACESTATE] = state;
      }
    }
  }
  if (skipBaggage || baggage === undefined || target[HEADER_BAGGAGE] !== undefined) return;
  if (baggage instanceof CorrelationBaggage) {
    if (!isTracingSuppressed(context)) target[HEADER_BAGGAGE] = baggage.header();
  } else {
    w3cBaggage.inject(context, target, keepExisting);
  }
}
