/**
 * OTLP/HTTP trace encoding and decoding with protobufjs and the official OTLP definitions
 * (vendored under ./proto, compiled into ./generated/descriptor.ts). Protobuf bodies are decoded
 * with the generated types; JSON bodies follow the OTLP JSON mapping (lowerCamelCase keys, hex trace
 * and span IDs, enums as integers, 64-bit integers as strings or numbers) and go through the same
 * types via `fromObject`, so both encodings yield the same message objects.
 */
import protobuf from 'protobufjs/light.js';
import { MalformedRequestError } from '../errors.js';
import { OTLP_DESCRIPTOR } from './generated/descriptor.js';

const root = protobuf.Root.fromJSON(withNativeStrings(OTLP_DESCRIPTOR));
const RequestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const ResponseType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');

/**
 * proto3 string fields default to UTF-8 verification, for which protobufjs decodes short strings
 * in JavaScript, 8 characters at a time (slow, and the resulting cons strings cost a tracked message
 * hundreds of bytes). With the `utf8_validation = NONE` feature, strings come from Node's native
 * `utf8Slice`: flat and fast; an invalid byte sequence becomes U+FFFD instead of failing the whole
 * request. Features resolve when the descriptor is loaded, so the option goes into its JSON.
 */
function withNativeStrings(descriptor: unknown): protobuf.INamespace {
  const copy = structuredClone(descriptor) as Record<string, unknown>;
  const visit = (node: Record<string, unknown>) => {
    const fields = node.fields as
      | Record<string, { type: string; options?: Record<string, unknown> }>
      | undefined;
    for (const field of Object.values(fields ?? {})) {
      if (field.type !== 'string') continue;
      const features = (field.options?.features ?? {}) as Record<string, unknown>;
      field.options = { ...field.options, features: { ...features, utf8_validation: 'NONE' } };
    }
    for (const child of Object.values((node.nested ?? {}) as Record<string, Record<string, unknown>>))
      visit(child);
  };
  visit(copy);
  return copy as protobuf.INamespace;
}

export type Long = protobuf.Long;
/** fixed64/int64 as protobufjs hands them out (Long) or as callers may pass them in. */
export type Int64 = Long | number | string;

export interface OtlpAnyValue {
  /** The name of the set oneof member (protobufjs virtual oneof property). */
  value?: string;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Int64;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  bytesValue?: Uint8Array;
}

export interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue | null;
}

export interface OtlpLink {
  traceId: Uint8Array;
  spanId: Uint8Array;
  traceState?: string;
  attributes?: OtlpKeyValue[];
  flags?: number;
}

export interface OtlpSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  traceState?: string;
  parentSpanId?: Uint8Array;
  flags?: number;
  name: string;
  kind: number;
  startTimeUnixNano: Int64;
  endTimeUnixNano: Int64;
  attributes?: OtlpKeyValue[];
  events?: unknown[];
  links?: OtlpLink[];
  status?: { code?: number; message?: string } | null;
}

export interface OtlpScopeSpans {
  scope?: { name?: string; version?: string } | null;
  spans?: OtlpSpan[];
  schemaUrl?: string;
}

export interface OtlpResourceSpans {
  resource?: { attributes?: OtlpKeyValue[] } | null;
  scopeSpans?: OtlpScopeSpans[];
  schemaUrl?: string;
}

export interface OtlpExportRequest {
  resourceSpans?: OtlpResourceSpans[];
}

export type OtlpFormat = 'protobuf' | 'json';

export const CONTENT_TYPE_PROTOBUF = 'application/x-protobuf';
export const CONTENT_TYPE_JSON = 'application/json';

/** Decodes a protobuf `ExportTraceServiceRequest`. */
export function decodeProtobufRequest(body: Uint8Array): OtlpExportRequest {
  // protobufjs decodes strings of a Buffer with the native utf8Slice (flat strings); for a plain
  // Uint8Array it concatenates 8 characters at a time (slow, and cons strings cost memory).
  const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  try {
    return RequestType.decode(buffer) as unknown as OtlpExportRequest;
  } catch (err) {
    throw new MalformedRequestError(
      `invalid protobuf ExportTraceServiceRequest: ${(err as Error).message}`,
      err,
    );
  }
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** OTLP JSON carries IDs as hex; an invalid one becomes empty bytes so the span is rejected, not the request. */
function hexToBytes(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return HEX.test(value) ? Buffer.from(value, 'hex') : Buffer.alloc(0);
}

function convertIds(request: Record<string, unknown>): void {
  const resourceSpans = request.resourceSpans;
  if (resourceSpans === undefined || resourceSpans === null) return;
  if (!Array.isArray(resourceSpans)) throw new MalformedRequestError('resourceSpans must be an array');
  for (const rs of resourceSpans) {
    const scopeSpans = (rs as { scopeSpans?: unknown })?.scopeSpans;
    if (!Array.isArray(scopeSpans)) continue;
    for (const ss of scopeSpans) {
      const spans = (ss as { spans?: unknown })?.spans;
      if (!Array.isArray(spans)) continue;
      for (const span of spans as Record<string, unknown>[]) {
        if (typeof span !== 'object' || span === null) continue;
        span.traceId = hexToBytes(span.traceId);
        span.spanId = hexToBytes(span.spanId);
        if (span.parentSpanId !== undefined) span.parentSpanId = hexToBytes(span.parentSpanId);
        if (Array.isArray(span.links)) {
          for (const link of span.links as Record<string, unknown>[]) {
            if (typeof link !== 'object' || link === null) continue;
            link.traceId = hexToBytes(link.traceId);
            link.spanId = hexToBytes(link.spanId);
          }
        }
      }
    }
  }
}

/** Decodes an OTLP JSON `ExportTraceServiceRequest`. */
export function decodeJsonRequest(body: Uint8Array): OtlpExportRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw new MalformedRequestError(`invalid JSON: ${(err as Error).message}`, err);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MalformedRequestError('the JSON body must be an ExportTraceServiceRequest object');
  }
  convertIds(parsed as Record<string, unknown>);
  try {
    return RequestType.fromObject(parsed as Record<string, unknown>) as unknown as OtlpExportRequest;
  } catch (err) {
    throw new MalformedRequestError(`invalid ExportTraceServiceRequest: ${(err as Error).message}`, err);
  }
}

export function decodeRequest(body: Uint8Array, format: OtlpFormat): OtlpExportRequest {
  return format === 'protobuf' ? decodeProtobufRequest(body) : decodeJsonRequest(body);
}

/** Encodes resource spans as one protobuf `ExportTraceServiceRequest` (forwarding, tests). */
export function encodeProtobufRequest(request: OtlpExportRequest): Uint8Array {
  return RequestType.encode(request as unknown as protobuf.Message).finish();
}

/** Encodes a request in the OTLP JSON mapping (hex IDs), e.g. for tests and JSON clients. */
export function encodeJsonRequest(request: OtlpExportRequest): string {
  const message = RequestType.fromObject(request as unknown as Record<string, unknown>);
  const object = RequestType.toObject(message, {
    longs: String,
    enums: Number,
    bytes: String,
    defaults: false,
  });
  // `bytes: String` gives base64; OTLP JSON wants hex for IDs.
  for (const rs of (object.resourceSpans ?? []) as Record<string, unknown>[]) {
    for (const ss of (rs.scopeSpans ?? []) as Record<string, unknown>[]) {
      for (const span of (ss.spans ?? []) as Record<string, unknown>[]) {
        for (const key of ['traceId', 'spanId', 'parentSpanId']) {
          if (typeof span[key] === 'string')
            span[key] = Buffer.from(span[key] as string, 'base64').toString('hex');
        }
        for (const link of (span.links ?? []) as Record<string, unknown>[]) {
          for (const key of ['traceId', 'spanId']) {
            if (typeof link[key] === 'string')
              link[key] = Buffer.from(link[key] as string, 'base64').toString('hex');
          }
        }
      }
    }
  }
  return JSON.stringify(object);
}

export interface PartialSuccess {
  rejectedSpans: number;
  errorMessage: string;
}

/** `ExportTraceServiceResponse` in the request's encoding; `partialSuccess` only when spans were rejected. */
export function encodeResponse(
  format: OtlpFormat,
  partial?: PartialSuccess,
): { contentType: string; body: Buffer } {
  const hasPartial = partial !== undefined && (partial.rejectedSpans > 0 || partial.errorMessage !== '');
  if (format === 'json') {
    const body = hasPartial
      ? {
          partialSuccess: {
            rejectedSpans: String(partial.rejectedSpans),
            errorMessage: partial.errorMessage,
          },
        }
      : {};
    return { contentType: CONTENT_TYPE_JSON, body: Buffer.from(JSON.stringify(body)) };
  }
  const message = ResponseType.fromObject(
    hasPartial
      ? { partialSuccess: { rejectedSpans: partial.rejectedSpans, errorMessage: partial.errorMessage } }
      : {},
  );
  return { contentType: CONTENT_TYPE_PROTOBUF, body: Buffer.from(ResponseType.encode(message).finish()) };
}

/** Decodes an `ExportTraceServiceResponse` (tests and the forwarder reading partial success). */
export function decodeResponse(body: Uint8Array, format: OtlpFormat): PartialSuccess | undefined {
  if (format === 'json') {
    const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as {
      partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string };
    };
    if (!parsed.partialSuccess) return undefined;
    return {
      rejectedSpans: Number(parsed.partialSuccess.rejectedSpans ?? 0),
      errorMessage: parsed.partialSuccess.errorMessage ?? '',
    };
  }
  const message = ResponseType.toObject(ResponseType.decode(body), { longs: Number }) as {
    partialSuccess?: { rejectedSpans?: number; errorMessage?: string };
  };
  if (!message.partialSuccess) return undefined;
  return {
    rejectedSpans: message.partialSuccess.rejectedSpans ?? 0,
    errorMessage: message.partialSuccess.errorMessage ?? '',
  };
}

/** Converts a nanosecond timestamp to the Long protobufjs writes for fixed64 fields. */
export function nanosToLong(nanos: bigint): Long {
  const unsigned = BigInt.asUintN(64, nanos);
  // protobufjs writes any { low, high } object as a 64-bit value.
  return {
    low: Number(unsigned & 0xffffffffn) | 0,
    high: Number(unsigned >> 32n) | 0,
    unsigned: true,
  } as Long;
}

/** Counts the spans in a request without normalizing them. */
export function countSpans(request: OtlpExportRequest): number {
  let n = 0;
  for (const rs of request.resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
  return n;
}

/**
 * `google.rpc.Status` (googleapis `google/rpc/status.proto`: `int32 code = 1; string message = 2;`,
 * `details` left out), which OTLP/HTTP uses for error bodies.
 */
const StatusType = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        rpc: {
          nested: {
            Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 } } },
          },
        },
      },
    },
  },
}).lookupType('google.rpc.Status');

/** gRPC status codes for the HTTP statuses the receiver answers with. */
const GRPC_CODES: Record<number, number> = {
  400: 3,
  401: 16,
  404: 5,
  405: 12,
  413: 8,
  415: 3,
  429: 8,
  500: 13,
  503: 14,
};

export function encodeErrorStatus(
  format: OtlpFormat,
  httpStatus: number,
  message: string,
): { contentType: string; body: Buffer } {
  const code = GRPC_CODES[httpStatus] ?? 2;
  if (format === 'json')
    return { contentType: CONTENT_TYPE_JSON, body: Buffer.from(JSON.stringify({ code, message })) };
  const encoded = StatusType.encode(StatusType.fromObject({ code, message })).finish();
  return { contentType: CONTENT_TYPE_PROTOBUF, body: Buffer.from(encoded) };
}

export function decodeErrorStatus(body: Uint8Array): { code: number; message: string } {
  return StatusType.toObject(StatusType.decode(body)) as { code: number; message: string };
}
