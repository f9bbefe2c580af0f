/**
 * hoptrace's context in SQS and SNS message attributes, within the services' limits (10 attributes per
 * message, 256 KiB per message or batch). Pure functions; the wrappers call them through the guard.
 *
 * Outgoing, in order of preference (docs/aws.md, "The 10-attribute limit"):
 * 1. `attributes`: each header as its own String attribute, named as the contract names the headers
 *    (`traceparent`, `x-correlation-id`, ...), when the caller's attributes plus ours fit in 10;
 * 2. `packed`: all of them in one String attribute `x-hoptrace-context` (JSON), when one slot is free;
 * 3. `aws_trace_header` (SQS only): the trace context alone as the `AWSTraceHeader` system attribute
 *    (X-Ray format; it counts toward neither limit), when the caller did not set one;
 * 4. `none`: nothing is added.
 * The caller's attributes are never changed, dropped or reordered, and nothing is added when the
 * caller's own attributes already break a limit (the service's error stays the caller's).
 */
import { createHash } from 'node:crypto';
import { HEADER_TRACEPARENT } from '../core/semconv.js';

/** The SDK's MessageAttributeValue, structurally (SQS `StringValue`/`DataType`, SNS the same). */
export interface AttributeValue {
  DataType?: string | undefined;
  StringValue?: string | undefined;
  BinaryValue?: Uint8Array | undefined;
}
export type AttributeMap = Record<string, AttributeValue>;

export const MAX_ATTRIBUTES = 10;
/** SQS message and batch size limit hoptrace keeps to (the classic 256 KiB; queues may allow more). */
export const MAX_MESSAGE_BYTES = 262_144;
export const PACKED_ATTRIBUTE = 'x-hoptrace-context';
export const AWS_TRACE_HEADER = 'AWSTraceHeader';
/** Longest packed value read back; anything longer is not ours. */
const MAX_PACKED_LENGTH = 16_384;

export type PropagationMode = 'attributes' | 'packed' | 'aws_trace_header' | 'none';

/** String-typed attributes as a header view (what `startPublish` and `extractIncoming` read). */
export function headersOf(attributes: AttributeMap | undefined | null): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!attributes || typeof attributes !== 'object') return headers;
  for (const name of Object.keys(attributes)) {
    const value = attributes[name];
    if (value && typeof value.StringValue === 'string' && isStringType(value.DataType)) {
      headers[name] = value.StringValue;
    }
  }
  return headers;
}

function isStringType(dataType: unknown): boolean {
  return typeof dataType === 'string' && (dataType === 'String' || dataType.startsWith('String.'));
}

/** Bytes SQS counts for one attribute: name, type and value. */
function attributeBytes(name: string, value: AttributeValue): number {
  let bytes = Buffer.byteLength(name) + Buffer.byteLength(String(value.DataType ?? ''));
  if (typeof value.StringValue === 'string') bytes += Buffer.byteLength(value.StringValue);
  if (value.BinaryValue instanceof Uint8Array) bytes += value.BinaryValue.byteLength;
  return bytes;
}

/** Message size as SQS counts it: body plus attributes. */
export function messageBytes(body: unknown, attributes: AttributeMap | undefined): number {
  let bytes = typeof body === 'string' ? Buffer.byteLength(body) : 0;
  if (attributes) for (const name of Object.keys(attributes)) bytes += attributeBytes(name, attributes[name]);
  return bytes;
}

export interface EncodeRequest {
  /** The caller's attributes; never mutated. */
  attributes: AttributeMap | undefined;
  /** hoptrace's headers to add (only names the caller does not already have). */
  added: Record<string, string>;
  /** Bytes the caller's message already takes (body and attributes); with ours it must stay within `maxBytes`. */
  bytes: number;
  maxBytes?: number;
}

export interface Encoded {
  mode: PropagationMode;
  /** The attributes to send: the caller's object itself when nothing is added, else a copy plus ours. */
  attributes: AttributeMap | undefined;
}

/** Adds hoptrace's headers as separate attributes or one packed attribute, or nothing (modes 1, 2, 4). */
export function encodeAttributes(req: EncodeRequest): Encoded {
  const userCount = req.attributes ? Object.keys(req.attributes).length : 0;
  const names = Object.keys(req.added);
  const maxBytes = req.maxBytes ?? MAX_MESSAGE_BYTES;
  // The caller set every header itself: its attributes carry the context.
  if (names.length === 0) return { mode: 'attributes', attributes: req.attributes };
  if (userCount > MAX_ATTRIBUTES || req.bytes > maxBytes) {
    return { mode: 'none', attributes: req.attributes };
  }
  if (userCount + names.length <= MAX_ATTRIBUTES) {
    const extra: AttributeMap = {};
    let bytes = 0;
    for (const name of names) {
      extra[name] = { DataType: 'String', StringValue: req.added[name] };
      bytes += attributeBytes(name, extra[name]);
    }
    if (req.bytes + bytes <= maxBytes)
      return { mode: 'attributes', attributes: { ...req.attributes, ...extra } };
  }
  if (userCount + 1 <= MAX_ATTRIBUTES) {
    const packed: AttributeValue = { DataType: 'String', StringValue: JSON.stringify(req.added) };
    if (req.bytes + attributeBytes(PACKED_ATTRIBUTE, packed) <= maxBytes) {
      return { mode: 'packed', attributes: { ...req.attributes, [PACKED_ATTRIBUTE]: packed } };
    }
  }
  return { mode: 'none', attributes: req.attributes };
}

/** The packed attribute's headers; `undefined` when absent, `null` when present but not ours. */
export function unpack(value: string | undefined): Record<string, string> | undefined | null {
  if (value === undefined) return undefined;
  if (value.length > MAX_PACKED_LENGTH || value.charCodeAt(0) !== 123 /* { */) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(parsed)) if (typeof v === 'string') out[name] = v;
  return out;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const XRAY_ROOT = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/;
const HEX16 = /^[0-9a-f]{16}$/;

/** W3C `traceparent` as an X-Ray trace header (`Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>`). */
export function toXrayHeader(traceparent: string | undefined): string | undefined {
  const m = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  if (!m) return undefined;
  const traceId = m[1] as string;
  const sampled = Number.parseInt(m[3] as string, 16) & 1;
  return `Root=1-${traceId.slice(0, 8)}-${traceId.slice(8)};Parent=${m[2]};Sampled=${sampled}`;
}

/** An X-Ray trace header as W3C `traceparent`; undefined without a valid Root and Parent. */
export function fromXrayHeader(header: string | undefined): string | undefined {
  if (typeof header !== 'string' || header.length > 512) return undefined;
  let root: string | undefined;
  let parent: string | undefined;
  let sampled = '00';
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part
      .slice(eq + 1)
      .trim()
      .toLowerCase();
    if (key === 'Root') root = value;
    else if (key === 'Parent') parent = value;
    else if (key === 'Sampled' && value === '1') sampled = '01';
  }
  const m = root === undefined ? null : XRAY_ROOT.exec(root);
  if (!m || parent === undefined || !HEX16.test(parent)) return undefined;
  return `00-${m[1]}${m[2]}-${parent}-${sampled}`;
}

/** What a received message says: the header view `extractIncoming` reads, and where it came from. */
export interface IncomingCarrier {
  headers: Record<string, string>;
  /** The packed attribute was present but unreadable (counted as `header_type`). */
  packedInvalid: boolean;
  /** The message is an SNS notification envelope (SNS -> SQS without raw delivery). */
  envelope?: SnsEnvelope;
}

export interface SnsEnvelope {
  topicArn: string;
  messageId: string | undefined;
  /** Epoch ms of the SNS publish. */
  timestamp: number | undefined;
}

/**
 * The header view of a received SQS message: String message attributes, the packed attribute (its
 * values never override a separate attribute), then `AWSTraceHeader` when no `traceparent` was found.
 * Without any of ours, an SNS envelope in the body is read (its `MessageAttributes`).
 */
export function readCarrier(
  messageAttributes: AttributeMap | undefined,
  systemAttributes: Record<string, string> | undefined,
  body: string | undefined,
): IncomingCarrier {
  let headers = headersOf(messageAttributes);
  let packedInvalid = false;
  let envelope: SnsEnvelope | undefined;
  if (!hasContext(headers) && typeof body === 'string') {
    const parsed = parseEnvelope(body);
    if (parsed) {
      envelope = parsed.envelope;
      headers = { ...parsed.headers, ...headers };
    }
  }
  const packed = unpack(headers[PACKED_ATTRIBUTE]);
  if (packed === null) packedInvalid = true;
  else if (packed) for (const name of Object.keys(packed)) headers[name] ??= packed[name] as string;
  if (headers[HEADER_TRACEPARENT] === undefined) {
    const fromXray = fromXrayHeader(systemAttributes?.[AWS_TRACE_HEADER]);
    if (fromXray !== undefined) headers[HEADER_TRACEPARENT] = fromXray;
  }
  return { headers, packedInvalid, envelope };
}

function hasContext(headers: Record<string, string>): boolean {
  return headers[HEADER_TRACEPARENT] !== undefined || headers[PACKED_ATTRIBUTE] !== undefined;
}

/** Envelopes larger than this are not parsed (SNS messages are at most 256 KiB plus the envelope). */
const MAX_ENVELOPE_LENGTH = 400_000;

/** An SNS notification envelope (`Type: Notification`, `TopicArn`, `MessageAttributes.{name}.{Type,Value}`). */
export function parseEnvelope(
  body: string,
): { envelope: SnsEnvelope; headers: Record<string, string> } | undefined {
  // Cheap checks first: most bodies are not envelopes and are never parsed.
  if (body.length > MAX_ENVELOPE_LENGTH || body.charCodeAt(0) !== 123 || !body.includes('"TopicArn"')) {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  const e = parsed as Record<string, unknown>;
  if (e.Type !== 'Notification' || typeof e.TopicArn !== 'string') return undefined;
  const headers: Record<string, string> = {};
  const attrs = e.MessageAttributes;
  if (attrs && typeof attrs === 'object') {
    for (const [name, v] of Object.entries(attrs as Record<string, unknown>)) {
      const a = v as { Type?: unknown; Value?: unknown } | null;
      if (a && typeof a.Value === 'string' && isStringType(a.Type)) headers[name] = a.Value;
    }
  }
  const timestamp = typeof e.Timestamp === 'string' ? Date.parse(e.Timestamp) : Number.NaN;
  return {
    envelope: {
      topicArn: e.TopicArn,
      messageId: typeof e.MessageId === 'string' ? e.MessageId : undefined,
      timestamp: Number.isFinite(timestamp) ? timestamp : undefined,
    },
    headers,
  };
}

/** Name matching of `MessageAttributeNames` / `MessageSystemAttributeNames`: `All`, `.*`, exact, `prefix.*`. */
export function nameMatcher(requested: readonly string[] | undefined): (name: string) => boolean {
  if (!requested || requested.length === 0) return () => false;
  if (requested.includes('All') || requested.includes('.*')) return () => true;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const r of requested) {
    if (typeof r !== 'string') continue;
    if (r.endsWith('.*')) prefixes.push(r.slice(0, -1));
    else exact.add(r);
  }
  return (name) => exact.has(name) || prefixes.some((p) => name.startsWith(p));
}

/**
 * `MD5OfMessageAttributes` as SQS computes it (names sorted; each name, type and value length-prefixed,
 * the value after a transport byte: 1 string, 2 binary), so a receive that hands back fewer attributes
 * than SQS returned also hands back the matching digest.
 */
export function md5OfAttributes(attributes: AttributeMap): string {
  const hash = createHash('md5');
  const lengthPrefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length);
    hash.update(bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const value = attributes[name] as AttributeValue;
    lengthPrefixed(Buffer.from(name, 'utf8'));
    lengthPrefixed(Buffer.from(String(value.DataType ?? ''), 'utf8'));
    if (typeof value.StringValue === 'string') {
      hash.update(Buffer.from([1]));
      lengthPrefixed(Buffer.from(value.StringValue, 'utf8'));
    } else if (value.BinaryValue instanceof Uint8Array) {
      hash.update(Buffer.from([2]));
      lengthPrefixed(Buffer.from(value.BinaryValue));
    }
  }
  return hash.digest('hex');
}
