/**
 * BullMQTelemetry on the real Redis in a process without an OpenTelemetry context manager (this file
 * registers none): each attempt's outcome, retries that keep the job's trace and correlation ID, and
 * concurrent jobs in one worker, on both supported majors.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { context, ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type * as BullMQ from 'bullmq';
import { Registry } from 'prom-client';
import { BullMQTelemetry } from '../../../instrumentation/bullmq/index.js';
import { METRIC_CONSUMED_MESSAGES, METRIC_DEAD_LETTERED } from '../../../instrumentation/core/semconv.js';
import { uniqueName } from '../../helpers/stack.js';
import type { TestTracing } from '../../helpers/tracing.js';
import { connection, FAST, metricValue, once, processSpans, redis } from './helpers.js';

const majors = [
  { name: 'bullmq 6', load: () => import('bullmq') as Promise<typeof BullMQ> },
  { name: 'bullmq 5', load: () => import('bullmq-5') as unknown as Promise<typeof BullMQ> },
];

const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

/** In-memory spans without registering a context manager (createTestTracing registers one). */
function tracingWithoutContextManager(): TestTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return { provider, exporter, spans: () => exporter.getFinishedSpans(), reset: () => exporter.reset() };
}

for (const major of majors) {
  describe(`BullMQTelemetry without a context manager on ${major.name}`, () => {
    it('retries keep one trace and correlation ID; concurrent jobs get their own outcomes', async (t) => {
      if (!(await redis(t))) return;
      const marked = ROOT_CONTEXT.setValue(Symbol('probe'), 1);
      assert.equal(
        context.with(marked, () => context.active()),
        ROOT_CONTEXT,
        'no context manager',
      );
      const { Queue, Worker } = await major.load();
      const tracing = tracingWithoutContextManager();
      const registry = new Registry();
      const telemetry = new BullMQTelemetry({ tracerProvider: tracing.provider, registry });
      const queueName = uniqueName('bq-nocm');
      const queue = new Queue(queueName, { connection: connection(), telemetry });
      const calls = new Map<string, number>();
      const worker = new Worker(
        queueName,
        telemetry.processor(async (job: BullMQ.Job) => {
          const n = (calls.get(job.name) ?? 0) + 1;
          calls.set(job.name, n);
          await new Promise((resolve) => setTimeout(resolve, job.name === 'slow' ? 150 : 5));
          if (job.name === 'flaky' && n < 3) throw new Error(`attempt ${n} failed`);
          if (job.name === 'broken') throw new Error('always fails');
          return 'done';
        }),
        { connection: connection(), telemetry, concurrency: 3, ...FAST },
      );
      closers.push(
        () => worker.close(),
        () => queue.obliterate({ force: true }).then(() => queue.close()),
      );
      const flakyDone = once(worker, 'completed', (job: BullMQ.Job) => job.name === 'flaky');
      const slowDone = once(worker, 'completed', (job: BullMQ.Job) => job.name === 'slow');
      const brokenFailed = once(worker, 'failed', (job: BullMQ.Job | undefined) => job?.name === 'broken');
      await queue.add('slow', {});
      await queue.add('flaky', {}, { attempts: 3, backoff: { type: 'fixed', delay: 10 } });
      await queue.add('broken', {});
      await Promise.all([flakyDone, slowDone, brokenFailed]);
      await worker.close();

      const byJob = (name: string) =>
        processSpans(tracing, queueName).filter((s) => s.span.attributes['bullmq.job.name'] === name);
      const flaky = byJob('flaky');
      assert.deepEqual(
        flaky.map((s) => [s.attempt, s.outcome]),
        [
          [1, 'retry'],
          [2, 'retry'],
          [3, 'ack'],
        ],
      );
      const producers = tracing.spans().filter((s) => s.kind === SpanKind.PRODUCER);
      const flakyProducer = producers.find((s) => s.attributes['bullmq.job.name'] === 'flaky')!;
      assert.deepEqual(
        new Set(flaky.map((s) => s.traceId)),
        new Set([flakyProducer.spanContext().traceId]),
        'every attempt in the trace the add started',
      );
      assert.deepEqual(
        new Set(flaky.map((s) => s.correlationId)),
        new Set([flakyProducer.attributes['messaging.message.conversation_id']]),
      );
      assert.deepEqual(
        byJob('slow').map((s) => s.outcome),
        ['ack'],
      );
      assert.deepEqual(
        byJob('broken').map((s) => s.outcome),
        ['dead_letter'],
      );
      const q = { messaging_destination_name: queueName };
      assert.equal(
        await metricValue(registry, METRIC_CONSUMED_MESSAGES, { ...q, hoptrace_outcome: 'ack' }),
        2,
      );
      assert.equal(
        await metricValue(registry, METRIC_CONSUMED_MESSAGES, { ...q, hoptrace_outcome: 'retry' }),
        2,
      );
      assert.equal(await metricValue(registry, METRIC_DEAD_LETTERED, q), 1);
    });
  });
}
