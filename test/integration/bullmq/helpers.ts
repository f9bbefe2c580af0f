/** Real-Redis fixtures for the BullMQ tests: a connection, a unique queue, in-memory spans, a registry. */
import type { TestContext } from 'node:test';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { BullMQTelemetry, type BullMQTelemetryOptions } from '../../../instrumentation/bullmq/index.js';
import {
  ATTR_HOPTRACE_DELIVERY_ATTEMPT,
  ATTR_HOPTRACE_OUTCOME,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
} from '../../../instrumentation/core/semconv.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { uniqueName } from '../../helpers/stack.js';
import { createTestTracing, type TestTracing } from '../../helpers/tracing.js';

export function redisUrl(): string {
  return stackEndpoint('HOPTRACE_REDIS_URL');
}

/** BullMQ's `connection` option for the stack's Redis. */
export function connection(): { host: string; port: number; maxRetriesPerRequest: null } {
  const url = new URL(redisUrl());
  return { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
}

/** Worker options for fast tests: a closing worker waits out its blocking fetch (default 5 s). */
export const FAST = { drainDelay: 0.2 } as const;

/** False (test skipped locally, failed in CI) when Redis does not answer. */
export async function redis(t: TestContext): Promise<boolean> {
  return requireServer(t, `Redis at ${redisUrl()}`, async () => {
    const client = new Redis(redisUrl(), {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    try {
      await client.connect();
      await client.ping();
    } finally {
      client.disconnect();
    }
  });
}

export interface Traced {
  tracing: TestTracing;
  registry: Registry;
  telemetry: BullMQTelemetry;
  queueName: string;
}

export function traced(prefix: string, options: BullMQTelemetryOptions = {}): Traced {
  const tracing = createTestTracing();
  const registry = new Registry();
  const telemetry = new BullMQTelemetry({ tracerProvider: tracing.provider, registry, ...options });
  return { tracing, registry, telemetry, queueName: uniqueName(prefix) };
}

/** The value of one series of a counter or gauge (0 when absent). */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  let sum = 0;
  for (const value of data.values) {
    const l = value.labels as Record<string, unknown>;
    if (Object.entries(labels).every(([k, v]) => String(l[k]) === v)) sum += value.value;
  }
  return sum;
}

/** Histogram observations: `_count` and `_sum` of the series matching `labels`. */
export async function histogram(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<{ count: number; sum: number }> {
  const metric = registry.getSingleMetric(name);
  const out = { count: 0, sum: 0 };
  if (!metric) return out;
  for (const value of (await metric.get()).values) {
    const l = value.labels as Record<string, unknown>;
    if (!Object.entries(labels).every(([k, v]) => String(l[k]) === v)) continue;
    const metricName = (value as { metricName?: string }).metricName ?? '';
    if (metricName.endsWith('_count')) out.count += value.value;
    else if (metricName.endsWith('_sum')) out.sum += value.value;
  }
  return out;
}

export interface ProcessView {
  attempt: unknown;
  outcome: unknown;
  traceId: string;
  correlationId: unknown;
  span: ReadableSpan;
}

/** `process <queue>` spans in start order, with the fields the tests compare. */
export function processSpans(tracing: TestTracing, queueName: string): ProcessView[] {
  return tracing
    .spans()
    .filter((s) => s.name === `process ${queueName}`)
    .sort((a, b) => hrMs(a.startTime) - hrMs(b.startTime))
    .map((span) => ({
      attempt: span.attributes[ATTR_HOPTRACE_DELIVERY_ATTEMPT],
      outcome: span.attributes[ATTR_HOPTRACE_OUTCOME],
      traceId: span.spanContext().traceId,
      correlationId: span.attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID],
      span,
    }));
}

export function hrMs(time: [number, number]): number {
  return time[0] * 1000 + time[1] / 1e6;
}

/** Resolves when `emitter` emits `event` for which `match` holds. */
export function once<T extends unknown[]>(
  emitter: { on(event: string, fn: (...args: T) => void): unknown },
  event: string,
  match: (...args: T) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    emitter.on(event, (...args: T) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      resolve(args);
    });
  });
}
