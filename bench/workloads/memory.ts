/**
 * Memory over a long run: 1M messages through the path every transport shares (the core's `startPublish`
 * -> headers -> `startDelivery` -> run -> settle), spans sampled into a batch processor, all metrics on, a
 * new correlation ID per message and 100 destinations. The heap is measured after a full GC every 100k
 * messages; the result is the growth from the first sample to the last. Needs `--expose-gc`.
 */
import { createInstrumentation } from '../../instrumentation/core/instrumentation.js';
import { createOpenMetricsRegistry } from '../../instrumentation/core/metrics.js';
import { startDelivery, startPublish } from '../../instrumentation/transport/index.js';
import { benchTracing, type ModeResult, workload } from '../harness.js';

const MESSAGES = 1_000_000;
const SAMPLE_EVERY = 100_000;
const DESTINATIONS = Array.from({ length: 100 }, (_, i) => `orders-${i}`);

function heapMb(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the memory workload needs node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

workload({
  async 'core-round-trip'(scale): Promise<ModeResult> {
    const { provider, exporter } = benchTracing(true);
    const instr = createInstrumentation('bench', 'kafka', {
      tracerProvider: provider,
      registry: createOpenMetricsRegistry(),
    });
    const total = Math.round(MESSAGES * scale);
    const every = Math.max(1, Math.round(SAMPLE_EVERY * scale));
    const heap: number[] = [];
    const cpu = process.cpuUsage();
    for (let i = 1; i <= total; i++) {
      const destination = DESTINATIONS[i % DESTINATIONS.length] as string;
      const op = startPublish(instr, {
        destination,
        operationName: 'send',
        headers: undefined,
        messageIdHeader: true,
        brokerPublishTime: true,
        message: null,
      });
      op.end();
      const delivery = startDelivery(instr, {
        destination,
        consumerGroup: 'g',
        headers: op.headers,
        publishedAtFallback: op.publishedAt,
        message: null,
        settleTimeoutMs: false,
      });
      delivery.run(() => undefined);
      delivery.settle('ack');
      if (i % 1000 === 0) await new Promise((resolve) => setImmediate(resolve)); // let the exporter run
      if (i % every === 0) {
        await provider.forceFlush();
        heap.push(heapMb());
      }
    }
    const used = process.cpuUsage(cpu);
    await provider.forceFlush();
    const first = heap[0] ?? 0;
    const last = heap[heap.length - 1] ?? 0;
    return {
      unit: 'mb',
      value: last - first,
      extra: {
        heap_first_mb: first,
        heap_last_mb: last,
        heap_max_mb: Math.max(...heap),
        // CPU, not wall time: the machine is shared (GCs for the samples included).
        cpu_us_per_msg: (used.user + used.system) / total,
        spans: exporter.exported,
        ...Object.fromEntries(heap.map((mb, i) => [`heap_${(i + 1) * 100}k_mb`, mb])),
      },
    };
  },
});
