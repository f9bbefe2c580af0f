/**
 * Turns decoded OTLP resource spans into `SpanRecord`s. Spans with invalid trace or span IDs are
 * rejected (reported back as OTLP partial success), never the whole request.
 */
import { ATTR_SERVICE_NAME } from '../../instrumentation/core/semconv.js';
import type {
  AttributeScalar,
  AttributeValue,
  HostIdentity,
  SpanAttributes,
  SpanKindName,
  SpanRecord,
} from '../types.js';
import type { Int64, OtlpAnyValue, OtlpExportRequest, OtlpKeyValue, OtlpSpan } from './codec.js';

const KINDS: readonly SpanKindName[] = [
  'unspecified',
  'internal',
  'server',
  'client',
  'producer',
  'consumer',
];
const STATUS = ['unset', 'ok', 'error'] as const;
/**
 * Longest string kept from a span (attribute values, span name, service name). The linker keeps some of
 * them (destinations, IDs, service names) for up to `maxTrackedMessages` messages, and metrics use them
 * as label values: without a cap, a client sending megabyte attribute values grows the collector without
 * bound. hoptrace's own values fit: correlation and message IDs are at most 256 characters, queue and
 * topic names at most 255 bytes. Forwarded spans are the originals, uncut.
 */
export const MAX_STRING_LENGTH = 256;
/** Items kept from an array attribute. */
export const MAX_ARRAY_ITEMS = 128;

/**
 * `value` cut to MAX_STRING_LENGTH. The cut is copied into a new string: V8 would otherwise keep a
 * slice pointing into the whole original, which is what the cap is meant to release.
 */
export function capString(value: string): string {
  if (value.length <= MAX_STRING_LENGTH) return value;
  return Buffer.from(value.slice(0, MAX_STRING_LENGTH), 'utf8').toString('utf8');
}
const UNKNOWN_SERVICE = 'unknown_service';
const TWO_POW_32 = 4294967296n;

export interface NormalizeOptions {
  /**
   * Only build records for spans the linker can use (kind PRODUCER/CONSUMER or a `messaging.*`
   * attribute); others are validated and counted but not converted. Default false.
   */
  messagingOnly?: boolean;
}

export interface NormalizeResult {
  spans: SpanRecord[];
  /** Spans in the request, valid or not. */
  received: number;
  rejected: number;
  /** First rejection reason, for the partial-success message. */
  firstError: string | undefined;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function validId(bytes: Uint8Array | undefined, length: number): boolean {
  return bytes !== undefined && bytes !== null && bytes.length === length && !isAllZero(bytes);
}

/** fixed64 nanoseconds from Long / number / decimal string. */
export function int64ToBigInt(value: Int64 | undefined | null): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  if (typeof value === 'string') return value === '' ? 0n : BigInt(value);
  const big = BigInt(value.high >>> 0) * TWO_POW_32 + BigInt(value.low >>> 0);
  return value.unsigned || value.high >= 0 ? big : big - (1n << 64n);
}

function int64ToNumberOrString(value: Int64 | undefined): number | string {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value;
  }
  if (value.high === 0 && value.low >= 0) return value.low;
  const big = int64ToBigInt(value);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(big)
    : big.toString();
}

function scalar(value: OtlpAnyValue): AttributeScalar | undefined {
  switch (value.value) {
    case 'stringValue':
      return value.stringValue === undefined ? undefined : capString(value.stringValue);
    case 'boolValue':
      return value.boolValue;
    case 'intValue':
      return int64ToNumberOrString(value.intValue);
    case 'doubleValue':
      return value.doubleValue;
    case 'bytesValue':
      // base64 of at most the bytes that fit the string cap.
      return value.bytesValue
        ? Buffer.from(value.bytesValue.subarray(0, (MAX_STRING_LENGTH / 4) * 3)).toString('base64')
        : '';
    default:
      return undefined;
  }
}

function addAttribute(
  out: SpanAttributes,
  key: string,
  value: OtlpAnyValue | null | undefined,
  depth: number,
): void {
  if (!value) return;
  if (value.value === 'kvlistValue') {
    if (depth > 4) return;
    for (const kv of value.kvlistValue?.values ?? [])
      addAttribute(out, `${key}.${kv.key}`, kv.value, depth + 1);
    return;
  }
  if (value.value === 'arrayValue') {
    const items: AttributeScalar[] = [];
    for (const item of value.arrayValue?.values ?? []) {
      if (items.length >= MAX_ARRAY_ITEMS) break;
      const s = scalar(item);
      if (s !== undefined) items.push(s);
    }
    out[key] = items;
    return;
  }
  const s = scalar(value);
  if (s !== undefined) out[key] = s;
}

/** Flattens OTLP key-values: nested key-value lists become dotted keys, bytes base64. */
export function flattenAttributes(list: OtlpKeyValue[] | undefined): SpanAttributes {
  const out: SpanAttributes = {};
  if (!list) return out;
  for (const kv of list) addAttribute(out, kv.key, kv.value, 0);
  return out;
}

function serviceNameOf(attributes: OtlpKeyValue[] | undefined): string {
  if (!attributes) return UNKNOWN_SERVICE;
  for (const kv of attributes) {
    if (kv.key === ATTR_SERVICE_NAME && kv.value?.value === 'stringValue' && kv.value.stringValue) {
      return capString(kv.value.stringValue);
    }
  }
  return UNKNOWN_SERVICE;
}

/** One object per resource, shared by its spans. */
function hostOf(attributes: OtlpKeyValue[] | undefined): HostIdentity | undefined {
  let host: HostIdentity | undefined;
  for (const kv of attributes ?? []) {
    if (kv.value?.value !== 'stringValue' || !kv.value.stringValue) continue;
    if (kv.key === 'host.id') host = { ...host, id: capString(kv.value.stringValue) };
    else if (kv.key === 'ip') host = { ...host, ip: capString(kv.value.stringValue) };
  }
  return host;
}

function isMessagingSpan(span: OtlpSpan): boolean {
  if (span.kind === 4 || span.kind === 5) return true;
  for (const kv of span.attributes ?? []) if (kv.key.startsWith('messaging.')) return true;
  return false;
}

function rejectionReason(span: OtlpSpan): string | undefined {
  if (!validId(span.traceId, 16)) return 'invalid trace_id (need 16 non-zero bytes)';
  if (!validId(span.spanId, 8)) return 'invalid span_id (need 8 non-zero bytes)';
  const parent = span.parentSpanId;
  if (parent && parent.length !== 0 && parent.length !== 8)
    return 'invalid parent_span_id (need 0 or 8 bytes)';
  return undefined;
}

export function toSpanRecord(span: OtlpSpan, serviceName: string, host?: HostIdentity): SpanRecord {
  const parent = span.parentSpanId;
  const links = [];
  for (const link of span.links ?? []) {
    if (!validId(link.traceId, 16) || !validId(link.spanId, 8)) continue;
    links.push({
      traceId: hex(link.traceId),
      spanId: hex(link.spanId),
      attributes: flattenAttributes(link.attributes),
    });
  }
  const status = span.status;
  const record: SpanRecord = {
    traceId: hex(span.traceId),
    spanId: hex(span.spanId),
    parentSpanId: parent && parent.length === 8 && !isAllZero(parent) ? hex(parent) : undefined,
    name: capString(span.name ?? ''),
    kind: KINDS[span.kind] ?? 'unspecified',
    startTimeUnixNano: int64ToBigInt(span.startTimeUnixNano),
    endTimeUnixNano: int64ToBigInt(span.endTimeUnixNano),
    attributes: flattenAttributes(span.attributes),
    links,
    serviceName,
    status: { code: STATUS[status?.code ?? 0] ?? 'unset' },
  };
  if (status?.message) record.status.message = capString(status.message);
  if (host) record.host = host;
  return record;
}

export function normalizeRequest(
  request: OtlpExportRequest,
  options: NormalizeOptions = {},
): NormalizeResult {
  const result: NormalizeResult = { spans: [], received: 0, rejected: 0, firstError: undefined };
  for (const rs of request.resourceSpans ?? []) {
    const serviceName = serviceNameOf(rs.resource?.attributes);
    const host = hostOf(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        result.received++;
        const reason = rejectionReason(span);
        if (reason !== undefined) {
          result.rejected++;
          result.firstError ??= reason;
          continue;
        }
        if (options.messagingOnly && !isMessagingSpan(span)) continue;
        result.spans.push(toSpanRecord(span, serviceName, host));
      }
    }
  }
  return result;
}

/** Reads a string attribute, accepting numbers too (IDs sometimes arrive as ints). */
export function stringAttribute(attributes: SpanAttributes, key: string): string | undefined {
  const value: AttributeValue | undefined = attributes[key];
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
}

export function numberAttribute(attributes: SpanAttributes, key: string): number | undefined {
  const value = attributes[key];
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}
