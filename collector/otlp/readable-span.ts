/**
 * Converts spans from the OTel SDK (`ReadableSpan`, e.g. from an in-memory exporter or a span
 * processor) into `SpanRecord`s, so an in-process setup (`hoptrace demo`) can feed the linker
 * directly, without OTLP over HTTP.
 */
import type { Attributes, HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '../../instrumentation/core/semconv.js';
import type { AttributeScalar, SpanAttributes, SpanKindName, SpanRecord } from '../types.js';

// @opentelemetry/api SpanKind: INTERNAL=0, SERVER=1, CLIENT=2, PRODUCER=3, CONSUMER=4.
const API_KINDS: readonly SpanKindName[] = ['internal', 'server', 'client', 'producer', 'consumer'];
// @opentelemetry/api SpanStatusCode: UNSET=0, OK=1, ERROR=2.
const API_STATUS = ['unset', 'ok', 'error'] as const;
const INVALID_SPAN_ID = '0000000000000000';

export function hrTimeToNanos(time: HrTime): bigint {
  return BigInt(time[0]) * 1_000_000_000n + BigInt(time[1]);
}

function copyAttributes(attributes: Attributes | undefined): SpanAttributes {
  const out: SpanAttributes = {};
  if (!attributes) return out;
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      out[key] = value.filter((v): v is AttributeScalar => v !== null && v !== undefined);
    } else {
      out[key] = value as AttributeScalar;
    }
  }
  return out;
}

export function fromReadableSpan(span: ReadableSpan): SpanRecord {
  const context = span.spanContext();
  const parentSpanId = span.parentSpanContext?.spanId;
  const service = span.resource?.attributes?.[ATTR_SERVICE_NAME];
  const record: SpanRecord = {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: parentSpanId && parentSpanId !== INVALID_SPAN_ID ? parentSpanId : undefined,
    name: span.name,
    kind: API_KINDS[span.kind] ?? 'unspecified',
    startTimeUnixNano: hrTimeToNanos(span.startTime),
    endTimeUnixNano: hrTimeToNanos(span.endTime),
    attributes: copyAttributes(span.attributes),
    links: span.links.map((link) => ({
      traceId: link.context.traceId,
      spanId: link.context.spanId,
      attributes: copyAttributes(link.attributes),
    })),
    serviceName: typeof service === 'string' && service !== '' ? service : 'unknown_service',
    status: { code: API_STATUS[span.status.code] ?? 'unset' },
  };
  if (span.status.message) record.status.message = span.status.message;
  return record;
}
