/**
 * What a benchmark workload module provides, and the helpers they share. Each workload runs in its own
 * process per mode (`node dist/bench/workloads/<name>.js <mode> <scale>`) and prints one JSON line.
 */
import { createRequire } from 'node:module';
import { context, propagation, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

export interface ModeResult {
  /** What was measured, e.g. `us_per_emit` or `msgs_per_s`. */
  unit: string;
  value: number;
  /** Extra numbers worth reporting (p50 latency, spans exported, RSS). */
  extra?: Record<string, number>;
}

/** Counts exported spans and drops them: the cost of an exporter without the network. */
export class CountingExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    this.exported += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

/**
 * A tracer provider as a production service would have: batch processor, sampling on or off, and the
 * global context manager and W3C trace context + baggage propagator an OTel SDK setup registers.
 */
export function benchTracing(sampled: boolean) {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  const exporter = new CountingExporter();
  const provider = new TracerProvider({
    sampler: sampled ? new AlwaysOnSampler() : new AlwaysOffSampler(),
    spanProcessors: [new BatchSpanProcessor({ exporter, maxQueueSize: 65_536, maxExportBatchSize: 2048 })],
  });
  return { provider, exporter };
}

/**
 * Loads a CommonJS client library through `require`, so OTel contrib instrumentations (which patch
 * `require`) see it. Every mode loads its client this way, after setting up its instrumentation.
 */
export function loadClient<T>(name: string): T {
  return createRequire(import.meta.url)(name) as T;
}

/** A workload mode: `scale` multiplies its message count; `args` are the workload's own options. */
export type Mode = (scale: number, args: string[]) => Promise<ModeResult>;

/** Runs a workload process: `<mode> <scale> [args...]` in, one JSON result line out. */
export function workload(modes: Record<string, Mode>): void {
  const [mode, scaleArg, ...args] = process.argv.slice(2);
  const run = mode ? modes[mode] : undefined;
  if (!run) {
    console.error(`usage: <workload> <${Object.keys(modes).join('|')}> [scale] [args...]`);
    process.exit(2);
  }
  run(Number(scaleArg ?? '1'), args).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The value at quantile `q` (0..1) of `values`, nearest rank. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** Resolves once `done()` is true, checking after every `notify()`. One waiter at a time. */
export class Progress {
  private waiter: (() => void) | undefined;
  private done: () => boolean = () => true;

  notify(): void {
    if (this.waiter && this.done()) {
      const resolve = this.waiter;
      this.waiter = undefined;
      resolve();
    }
  }

  until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    this.done = done;
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** `until`, failing with "lost messages: <counts()>" when `done()` is not true within `timeoutMs`. */
  async untilOrLost(done: () => boolean, timeoutMs: number, counts: () => string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const lost = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`lost messages: ${counts()}`)), timeoutMs);
    });
    try {
      await Promise.race([this.until(done), lost]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A valid W3C traceparent and a correlation ID of real size, for the headers-only floors. */
export const FLOOR_TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
export const FLOOR_CORRELATION_ID = 'e0f6c2a4-7b1d-4a8e-9c3f-5d2b1a0e8f7c';
export const FLOOR_MESSAGE_ID = '6c1b7f0e-2d4a-4c8b-9e3f-a1b2c3d4e5f6';

/**
 * The spans of hoptrace's span contract made with the OTel SDK directly, and nothing else: a producer
 * span per message and a consumer span per delivery (linked to a producer span context), each with as
 * many attributes as hoptrace records. No propagation, no handler context, no metrics: what the SDK and
 * its batch processor alone charge for the contract's spans, the floor under hoptrace's own cost.
 */
export function contractSpans(system: string, destination: string) {
  const { provider, exporter } = benchTracing(true);
  const tracer = provider.getTracer('contract-spans');
  const common = {
    'messaging.system': system,
    'messaging.destination.name': destination,
    'messaging.message.conversation_id': FLOOR_CORRELATION_ID,
    'messaging.message.id': FLOOR_MESSAGE_ID,
    'messaging.message.body.size': 256,
  };
  const producerAttributes = {
    ...common,
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'send',
    'messaging.destination.partition.id': '0',
  };
  const consumerAttributes = {
    ...common,
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.consumer.group.name': 'bench',
    'messaging.destination.partition.id': '0',
    'hoptrace.delivery.attempt': 1,
    'hoptrace.origin_at': 1_700_000_000_000,
    'hoptrace.published_at': 1_700_000_000_000,
  };
  const link = {
    context: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 },
  };
  return {
    startSend: () =>
      tracer.startSpan(`send ${destination}`, { kind: SpanKind.PRODUCER, attributes: producerAttributes }),
    startProcess: () => {
      const span = tracer.startSpan(`process ${destination}`, {
        kind: SpanKind.CONSUMER,
        attributes: consumerAttributes,
        links: [link],
      });
      span.setAttribute('hoptrace.outcome', 'ack');
      return span;
    },
    spans: async () => {
      await provider.forceFlush();
      return exporter.exported;
    },
  };
}
