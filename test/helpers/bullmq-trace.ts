/** BullMQ's `trace()` helper (its utils), as 5.x and 6.x run it: unit tests drive a telemetry with it. */
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { BullMQTelemetry } from '../../instrumentation/bullmq/telemetry.js';
import type { BullMQSpan } from '../../instrumentation/bullmq/types.js';
import {
  ATTR_HOPTRACE_OUTCOME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
} from '../../instrumentation/core/semconv.js';

export async function bullTrace<T>(
  telemetry: BullMQTelemetry,
  kind: number,
  queueName: string,
  operation: string,
  destination: string,
  callback: (span: BullMQSpan<unknown>, metadata?: string) => Promise<T> | T,
  srcMetadata?: string,
): Promise<T> {
  const { tracer, contextManager } = telemetry;
  const current = contextManager.active();
  const parent = srcMetadata ? contextManager.fromMetadata(current, srcMetadata) : undefined;
  const span = tracer.startSpan(`${operation} ${destination}`, { kind }, parent);
  try {
    span.setAttributes({ 'bullmq.queue.name': queueName, 'bullmq.queue.operation': operation });
    const messageContext =
      kind === SpanKind.CONSUMER && parent ? span.setSpanOnContext(parent) : span.setSpanOnContext(current);
    const metadata = callback.length === 2 ? contextManager.getMetadata(messageContext) : undefined;
    return await contextManager.with(messageContext, () => callback(span, metadata));
  } catch (err) {
    span.recordException(err);
    throw err;
  } finally {
    span.end();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface FakeJob {
  id: string;
  name: string;
  queueName: string;
  timestamp: number;
  attemptsMade: number;
  attemptsStarted: number;
  opts: { attempts?: number; telemetry?: { metadata?: string } };
}

/** Adds a job as `Queue.add` does; returns the job a Worker would fetch. */
export async function addJob(telemetry: BullMQTelemetry, queueName: string, id: string): Promise<FakeJob> {
  const metadata = await bullTrace(
    telemetry,
    SpanKind.PRODUCER,
    queueName,
    'add',
    `${queueName}.work`,
    async (span, md) => {
      span.setAttributes({ 'bullmq.job.name': 'work', 'bullmq.job.id': id });
      return md;
    },
  );
  return {
    id,
    name: 'work',
    queueName,
    timestamp: Date.now(),
    attemptsMade: 0,
    attemptsStarted: 1,
    opts: { attempts: 2, telemetry: { metadata } },
  };
}

/**
 * Processes `job` as `Worker.processJob` does: the processor (wrapped with `processor()` when `wrap`)
 * runs `ms`, then the job moves on through BullMQ's `complete` or `retry` operation, after awaits, so
 * concurrent attempts interleave.
 */
export function processJob(
  telemetry: BullMQTelemetry,
  job: FakeJob,
  options: { wrap: boolean; ms: number; fail?: boolean },
): Promise<void> {
  const processor = async (_job: FakeJob) => {
    await sleep(options.ms);
    if (options.fail) throw new Error('boom');
  };
  const run = options.wrap ? telemetry.processor(processor) : processor;
  const setJob = (span: BullMQSpan<unknown>) =>
    span.setAttributes({ 'bullmq.job.name': job.name, 'bullmq.job.id': job.id });
  return bullTrace(
    telemetry,
    SpanKind.CONSUMER,
    job.queueName,
    'process',
    job.queueName,
    async (span) => {
      setJob(span);
      try {
        await run(job);
      } catch (err) {
        await sleep(1);
        await bullTrace(
          telemetry,
          SpanKind.INTERNAL,
          job.queueName,
          'retry',
          job.queueName,
          async (s, _md) => {
            setJob(s);
            await sleep(2);
          },
        );
        span.recordException(err);
        return;
      }
      await bullTrace(telemetry, SpanKind.INTERNAL, job.queueName, 'complete', job.queueName, async (s) => {
        setJob(s);
        await sleep(2);
      });
    },
    job.opts.telemetry?.metadata,
  );
}

/**
 * Three attempts in flight at once, two of them with the same job ID in different queues: `a/1` (slow,
 * completes), `b/1` (fails first: retry), `a/2` (completes while `a/1` still runs).
 */
export async function interleavedAttempts(telemetry: BullMQTelemetry, wrap: boolean): Promise<void> {
  const a1 = await addJob(telemetry, 'a', '1');
  const b1 = await addJob(telemetry, 'b', '1');
  const a2 = await addJob(telemetry, 'a', '2');
  await Promise.all([
    processJob(telemetry, a1, { wrap, ms: 30 }),
    processJob(telemetry, b1, { wrap, ms: 5, fail: true }),
    processJob(telemetry, a2, { wrap, ms: 10 }),
  ]);
}

/** The outcome of each consumer span of `interleavedAttempts`, as `queue/id outcome`, sorted. */
export function outcomesByJob(spans: ReadableSpan[]): string[] {
  return spans
    .filter((s) => s.kind === SpanKind.CONSUMER)
    .map(
      (s) =>
        `${s.attributes[ATTR_MESSAGING_DESTINATION_NAME]}/${s.attributes[ATTR_MESSAGING_MESSAGE_ID]} ${s.attributes[ATTR_HOPTRACE_OUTCOME]}`,
    )
    .sort();
}
