/**
 * `SpanRecord` -> OTLP (for synthetic spans and the forwarder) and -> a JSON wire form (for the
 * Kafka scale-out topic, where bigint timestamps travel as decimal strings).
 */
import { ATTR_SERVICE_NAME } from '../../instrumentation/core/semconv.js';
import type { AttributeValue, SpanAttributes, SpanKindName, SpanRecord } from '../types.js';
import {
  nanosToLong,
  type OtlpAnyValue,
  type OtlpKeyValue,
  type OtlpResourceSpans,
  type OtlpSpan,
} from './codec.js';

const KIND_NUMBERS: Record<SpanKindName, number> = {
  unspecified: 0,
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
};
const STATUS_NUMBERS = { unset: 0, ok: 1, error: 2 } as const;

/** Instrumentation scope of spans the collector creates. */
export const COLLECTOR_SCOPE = { name: 'hoptrace/collector', version: '0.1.0' };

function anyValue(value: AttributeValue): OtlpAnyValue {
  if (Array.isArray(value)) return { arrayValue: { values: value.map((v) => anyValue(v)) } };
  switch (typeof value) {
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    default:
      return Number.isInteger(value) ? { intValue: value } : { doubleValue: value };
  }
}

export function toKeyValues(attributes: SpanAttributes): OtlpKeyValue[] {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) }));
}

function idBytes(hexId: string): Buffer {
  return Buffer.from(hexId, 'hex');
}

export function recordToOtlpSpan(record: SpanRecord): OtlpSpan {
  const span: OtlpSpan = {
    traceId: idBytes(record.traceId),
    spanId: idBytes(record.spanId),
    name: record.name,
    kind: KIND_NUMBERS[record.kind],
    startTimeUnixNano: nanosToLong(record.startTimeUnixNano),
    endTimeUnixNano: nanosToLong(record.endTimeUnixNano),
    attributes: toKeyValues(record.attributes),
    links: record.links.map((link) => ({
      traceId: idBytes(link.traceId),
      spanId: idBytes(link.spanId),
      attributes: toKeyValues(link.attributes),
    })),
    status: { code: STATUS_NUMBERS[record.status.code], message: record.status.message ?? '' },
  };
  if (record.parentSpanId) span.parentSpanId = idBytes(record.parentSpanId);
  return span;
}

/** Groups records by service into OTLP resource spans under one scope. */
export function recordsToResourceSpans(records: SpanRecord[], scope = COLLECTOR_SCOPE): OtlpResourceSpans[] {
  const byResource = new Map<string, { record: SpanRecord; spans: OtlpSpan[] }>();
  for (const record of records) {
    const key = `${record.serviceName}\0${record.host?.id ?? ''}\0${record.host?.ip ?? ''}`;
    let group = byResource.get(key);
    if (!group) {
      group = { record, spans: [] };
      byResource.set(key, group);
    }
    group.spans.push(recordToOtlpSpan(record));
  }
  return [...byResource.values()].map(({ record, spans }) => {
    const attributes = [{ key: ATTR_SERVICE_NAME, value: { stringValue: record.serviceName } }];
    if (record.host?.id) attributes.push({ key: 'host.id', value: { stringValue: record.host.id } });
    if (record.host?.ip) attributes.push({ key: 'ip', value: { stringValue: record.host.ip } });
    return { resource: { attributes }, scopeSpans: [{ scope, spans }] };
  });
}

type WireRecord = Omit<SpanRecord, 'startTimeUnixNano' | 'endTimeUnixNano'> & {
  startTimeUnixNano: string;
  endTimeUnixNano: string;
};

export function serializeRecord(record: SpanRecord): string {
  const wire: WireRecord = {
    ...record,
    startTimeUnixNano: record.startTimeUnixNano.toString(),
    endTimeUnixNano: record.endTimeUnixNano.toString(),
  };
  return JSON.stringify(wire);
}

/** Parses a wire record; throws on anything that is not one. */
export function deserializeRecord(text: string): SpanRecord {
  const wire = JSON.parse(text) as WireRecord;
  if (
    typeof wire !== 'object' ||
    wire === null ||
    typeof wire.traceId !== 'string' ||
    typeof wire.spanId !== 'string' ||
    typeof wire.startTimeUnixNano !== 'string' ||
    typeof wire.attributes !== 'object' ||
    !Array.isArray(wire.links)
  ) {
    throw new TypeError('not a hoptrace span record');
  }
  return {
    ...wire,
    parentSpanId: wire.parentSpanId ?? undefined,
    startTimeUnixNano: BigInt(wire.startTimeUnixNano),
    endTimeUnixNano: BigInt(wire.endTimeUnixNano),
  };
}
