/**
 * What a benchmark workload module provides, and the helpers they share. Each workload runs in its own
 * process per mode (`node dist/bench/workloads/<name>.js <mode> <scale>`) and prints one JSON line.
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
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

/** A tracer provider as a production service would have: batch processor, sampling on or off. */
export function benchTracing(sampled: boolean) {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const exporter = new CountingExporter();
  const provider = new TracerProvider({
    sampler: sampled ? new AlwaysOnSampler() : new AlwaysOffSampler(),
    spanProcessors: [new BatchSpanProcessor({ exporter, maxQueueSize: 65_536, maxExportBatchSize: 2048 })],
  });
  return { provider, exporter };
}

/** Runs `main` as a workload process: `<mode> <scale>` in, one JSON result line out. */
export function workload(modes: Record<string, (scale: number) => Promise<ModeResult>>): void {
  const [mode, scaleArg] = process.argv.slice(2);
  const run = mode ? modes[mode] : undefined;
  if (!run) {
    console.error(`usage: <workload> <${Object.keys(modes).join('|')}> [scale]`);
    process.exit(2);
  }
  run(Number(scaleArg ?? '1')).then(
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
