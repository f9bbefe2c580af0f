/**
 * Builders for scripted messaging flows as `SpanRecord`s (the spans the wrappers produce, per
 * CONTRACT.md "Spans"), OTLP payloads made from them with the collector's own protobufjs types, and
 * metric readers for assertions.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { CollectorMetrics } from '../../collector/metrics.js';
import { encodeJsonRequest, encodeProtobufRequest } from '../../collector/otlp/codec.js';
import { recordsToResourceSpans } from '../../collector/otlp/records.js';
import type { SpanAttributes, SpanRecord } from '../../collector/types.js';
import {
  ATTR_HOPTRACE_DEAD_LETTER_REASON,
  ATTR_HOPTRACE_DEAD_LETTER_SOURCE,
  ATTR_HOPTRACE_DELIVERY_ATTEMPT,
  ATTR_HOPTRACE_OUTCOME,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_RABBITMQ_ROUTING_KEY,
  ATTR_MESSAGING_SYSTEM,
} from '../../instrumentation/core/semconv.js';

export const traceId = (): string => randomBytes(16).toString('hex');
export const spanId = (): string => randomBytes(8).toString('hex');

/** 2024-01-01T00:00:00Z in ns: span timestamps in tests are offsets (ms) from here. */
export const T0_NS = 1_704_067_200_000_000_000n;
export const msToNs = (ms: number): bigint => T0_NS + BigInt(Math.round(ms * 1e6));

export interface PublishSpec {
  service: string;
  destination: string;
  system?: string;
  messageId?: string;
  correlationId?: string;
  routingKey?: string;
  /** Start, ms after T0. */
  at: number;
  /** Parent span (e.g. the delivery being handled when this publish is a follow-on). */
  parent?: SpanRecord;
}

export interface ProcessSpec {
  service: string;
  destination: string;
  group?: string;
  system?: string;
  /** parent (default): child of the producer span + link; link: new trace with a link; none: new trace, no link. */
  mode?: 'parent' | 'link' | 'none';
  messageId?: string | null;
  correlationId?: string | null;
  at: number;
  durationMs?: number;
  attempt?: number;
  outcome?: string;
  deadLetterReason?: string;
  deadLetterSource?: string;
}

export function publishSpan(spec: PublishSpec): SpanRecord {
  const system = spec.system ?? 'rabbitmq';
  const attributes: SpanAttributes = {
    [ATTR_MESSAGING_SYSTEM]: system,
    [ATTR_MESSAGING_DESTINATION_NAME]: spec.destination,
    [ATTR_MESSAGING_OPERATION_TYPE]: 'send',
    [ATTR_MESSAGING_OPERATION_NAME]: system === 'rabbitmq' ? 'publish' : 'send',
  };
  if (spec.messageId) attributes[ATTR_MESSAGING_MESSAGE_ID] = spec.messageId;
  if (spec.correlationId) attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID] = spec.correlationId;
  if (spec.routingKey) attributes[ATTR_MESSAGING_RABBITMQ_ROUTING_KEY] = spec.routingKey;
  return {
    traceId: spec.parent?.traceId ?? traceId(),
    spanId: spanId(),
    parentSpanId: spec.parent?.spanId,
    name: `${system === 'rabbitmq' ? 'publish' : 'send'} ${spec.destination}`,
    kind: 'producer',
    startTimeUnixNano: msToNs(spec.at),
    endTimeUnixNano: msToNs(spec.at + 0.5),
    attributes,
    links: [],
    serviceName: spec.service,
    status: { code: 'unset' },
  };
}

export function processSpan(publish: SpanRecord, spec: ProcessSpec): SpanRecord {
  const mode = spec.mode ?? 'parent';
  const attributes: SpanAttributes = {
    [ATTR_MESSAGING_SYSTEM]: spec.system ?? (publish.attributes[ATTR_MESSAGING_SYSTEM] as string),
    [ATTR_MESSAGING_DESTINATION_NAME]: spec.destination,
    [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
    [ATTR_MESSAGING_OPERATION_NAME]: 'process',
  };
  if (spec.group) attributes[ATTR_MESSAGING_CONSUMER_GROUP_NAME] = spec.group;
  const messageId =
    spec.messageId === undefined ? publish.attributes[ATTR_MESSAGING_MESSAGE_ID] : spec.messageId;
  if (messageId) attributes[ATTR_MESSAGING_MESSAGE_ID] = messageId;
  const correlationId =
    spec.correlationId === undefined
      ? publish.attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID]
      : spec.correlationId;
  if (correlationId) attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID] = correlationId;
  if (spec.attempt !== undefined) attributes[ATTR_HOPTRACE_DELIVERY_ATTEMPT] = spec.attempt;
  if (spec.outcome) attributes[ATTR_HOPTRACE_OUTCOME] = spec.outcome;
  if (spec.deadLetterReason) attributes[ATTR_HOPTRACE_DEAD_LETTER_REASON] = spec.deadLetterReason;
  if (spec.deadLetterSource) attributes[ATTR_HOPTRACE_DEAD_LETTER_SOURCE] = spec.deadLetterSource;
  const link = { traceId: publish.traceId, spanId: publish.spanId, attributes: {} };
  return {
    traceId: mode === 'parent' ? publish.traceId : traceId(),
    spanId: spanId(),
    parentSpanId: mode === 'parent' ? publish.spanId : undefined,
    name: `process ${spec.destination}`,
    kind: 'consumer',
    startTimeUnixNano: msToNs(spec.at),
    endTimeUnixNano: msToNs(spec.at + (spec.durationMs ?? 2)),
    attributes,
    links: mode === 'none' ? [] : [link],
    serviceName: spec.service,
    status: { code: spec.outcome === 'error' ? 'error' : 'unset' },
  };
}

/** A Kafka `eachBatch` span: one process span linked to every message's producer span. */
export function batchSpan(publishes: SpanRecord[], spec: Omit<ProcessSpec, 'mode'>): SpanRecord {
  const span = processSpan(publishes[0], { ...spec, mode: 'none', messageId: null, correlationId: null });
  span.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT] = publishes.length;
  span.links = publishes.map((p) => ({ traceId: p.traceId, spanId: p.spanId, attributes: {} }));
  return span;
}

/** A non-messaging span (e.g. an HTTP call made while handling). */
export function internalSpan(parent: SpanRecord, service: string, at: number): SpanRecord {
  return {
    traceId: parent.traceId,
    spanId: spanId(),
    parentSpanId: parent.spanId,
    name: 'GET /inventory',
    kind: 'client',
    startTimeUnixNano: msToNs(at),
    endTimeUnixNano: msToNs(at + 1),
    attributes: { 'http.request.method': 'GET' },
    links: [],
    serviceName: service,
    status: { code: 'unset' },
  };
}

export function otlpProtobuf(records: SpanRecord[]): Uint8Array {
  return encodeProtobufRequest({
    resourceSpans: recordsToResourceSpans(records, { name: 'test', version: '1' }),
  });
}

export function otlpJson(records: SpanRecord[]): string {
  return encodeJsonRequest({
    resourceSpans: recordsToResourceSpans(records, { name: 'test', version: '1' }),
  });
}

interface MetricData {
  values: { labels: Record<string, string | number>; value: number; metricName?: string }[];
}

/** Sum of a metric's samples whose labels include `labels` (for histograms: pass `metricName`). */
export async function metricSum(
  metrics: CollectorMetrics,
  name: string,
  labels: Record<string, string | number> = {},
  sample?: string,
): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const data = (await metric.get()) as unknown as MetricData;
  let sum = 0;
  for (const v of data.values) {
    if (sample !== undefined && v.metricName !== sample) continue;
    if (Object.entries(labels).every(([k, val]) => v.labels[k] === val)) sum += v.value;
  }
  return sum;
}

/** A clock tests move by hand. */
export function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

export const OTLP_PROTOBUF_HEADERS = { 'content-type': 'application/x-protobuf' };
export const OTLP_JSON_HEADERS = { 'content-type': 'application/json' };

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * A raw HTTP request, so tests control Content-Length, chunking and the exact bytes (fetch would fix
 * them up). Content-Length is set from the body unless given or `chunked`.
 */
export function sendRaw(
  url: string,
  options: {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: Uint8Array | string;
    chunked?: boolean;
  },
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${options.path ?? '/v1/traces'}`,
      { method: options.method ?? 'POST', headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    if (options.body !== undefined && !options.chunked && !options.headers?.['content-length']) {
      req.setHeader('content-length', Buffer.byteLength(options.body));
    }
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}
