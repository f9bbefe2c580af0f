/**
 * BullMQ round trip on the stack's Redis: a Queue adds 256-byte jobs one call at a time (at most `WINDOW`
 * unprocessed) and a Worker (concurrency 50) processes them, both in this process. Throughput from the
 * first add to the last processed job; latency: one job at a time, add to processor.
 *
 * Modes: raw BullMQ; the metadata floor (a minimal `telemetry` that stores a fixed traceparent and
 * correlation ID as the job's telemetry metadata and reads it back, no spans: what any BullMQ propagation
 * pays, BullMQ having no headers); BullMQ's own tracing (`bullmq-otel`, the OTel tracer registered
 * globally); hoptrace's `BullMQTelemetry` with `processor()`. Traced modes sample every span.
 */
import { randomUUID } from 'node:crypto';
import { context, trace } from '@opentelemetry/api';
import type * as BullMQ from 'bullmq';
import { BullMQTelemetry } from '../../instrumentation/bullmq/index.js';
import { createOpenMetricsRegistry } from '../../instrumentation/core/metrics.js';
import { stackEndpoint } from '../../test/helpers/env.js';
import {
  benchTracing,
  FLOOR_CORRELATION_ID,
  FLOOR_TRACEPARENT,
  loadClient,
  type ModeResult,
  Progress,
  quantile,
  workload,
} from '../harness.js';

const MESSAGES = 10_000;
const WINDOW = 1_000;
const WARMUP = 1_000;
const LATENCY_SAMPLES = 500;
const DATA = { body: 'x'.repeat(256) };

type Processor = (job: BullMQ.Job) => Promise<unknown>;

interface Setup {
  telemetry?: BullMQ.Telemetry;
  /** Wraps the processor (hoptrace's `processor()`). */
  wrap?: (processor: Processor) => Processor;
  spans?: () => Promise<number>;
}

function connection() {
  const url = new URL(stackEndpoint('HOPTRACE_REDIS_URL'));
  return { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
}

async function measure(setup: Setup, scale: number): Promise<ModeResult> {
  const { Queue, Worker } = loadClient<typeof BullMQ>('bullmq');
  const name = `bench-${randomUUID()}`;
  const queue = new Queue(name, { connection: connection(), telemetry: setup.telemetry });
  let processed = 0;
  const progress = new Progress();
  const processor: Processor = async () => {
    processed++;
    progress.notify();
  };
  const worker = new Worker(name, setup.wrap ? setup.wrap(processor) : processor, {
    connection: connection(),
    concurrency: 50,
    drainDelay: 0.05,
    telemetry: setup.telemetry,
  });
  await worker.waitUntilReady();
  const opts = { removeOnComplete: true, removeOnFail: true };
  const run = async (count: number, window: number) => {
    const target = processed + count;
    let added = processed;
    while (added < target) {
      if (added - processed >= window) await progress.until(() => added - processed < window / 2);
      await queue.add('job', DATA, opts);
      added++;
    }
    await progress.until(() => processed >= target);
  };
  await run(WARMUP, WINDOW);
  const count = Math.round(MESSAGES * scale);
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await run(count, WINDOW);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { user, system } = process.cpuUsage(cpu);
  const latencies: number[] = [];
  for (let i = 0; i < Math.max(100, Math.round(LATENCY_SAMPLES * scale)); i++) {
    const t = process.hrtime.bigint();
    await run(1, 1);
    latencies.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  await worker.close();
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  const spans = setup.spans ? await setup.spans() : 0;
  return {
    unit: 'msgs_per_s',
    value: count / seconds,
    extra: {
      cpu_us_per_msg: (user + system) / count,
      // Split: the telemetry's own work is user time; socket writes to Redis are mostly system time.
      cpu_user_us_per_msg: user / count,
      cpu_system_us_per_msg: system / count,
      p50_us: quantile(latencies, 0.5),
      p99_us: quantile(latencies, 0.99),
      spans,
      rss_mb: process.memoryUsage().rss / 2 ** 20,
    },
  };
}

/** The smallest telemetry BullMQ accepts: fixed metadata written and parsed back, no-op spans. */
function floorTelemetry(): BullMQ.Telemetry {
  const metadata = JSON.stringify({
    traceparent: FLOOR_TRACEPARENT,
    'x-correlation-id': FLOOR_CORRELATION_ID,
  });
  const span = {
    setSpanOnContext: (ctx: unknown) => ctx,
    setAttribute() {},
    setAttributes() {},
    addEvent() {},
    recordException() {},
    end() {},
  };
  return {
    tracer: { startSpan: () => span },
    contextManager: {
      with: (ctx: unknown, fn: () => unknown) => context.with(ctx as never, fn as () => unknown),
      active: () => context.active(),
      getMetadata: () => metadata,
      fromMetadata: (active: unknown, text: string) => {
        JSON.parse(text);
        return active;
      },
    },
  } as unknown as BullMQ.Telemetry;
}

workload({
  raw: (scale) => measure({}, scale),
  'headers-floor': (scale) => measure({ telemetry: floorTelemetry() }, scale),

  async 'bullmq-otel'(scale) {
    const { provider, exporter } = benchTracing(true);
    trace.setGlobalTracerProvider(provider);
    const { BullMQOtel } = await import('bullmq-otel');
    const spans = async () => {
      await provider.forceFlush();
      return exporter.exported;
    };
    return measure({ telemetry: new BullMQOtel() as unknown as BullMQ.Telemetry, spans }, scale);
  },

  async hoptrace(scale) {
    const { provider, exporter } = benchTracing(true);
    const telemetry = new BullMQTelemetry({
      tracerProvider: provider,
      registry: createOpenMetricsRegistry(),
    });
    const spans = async () => {
      await provider.forceFlush();
      return exporter.exported;
    };
    return measure(
      {
        telemetry: telemetry as unknown as BullMQ.Telemetry,
        wrap: (processor) => telemetry.processor(processor) as Processor,
        spans,
      },
      scale,
    );
  },
});
