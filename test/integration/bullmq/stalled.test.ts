/**
 * A worker killed mid-job: BullMQ's stalled-job check moves the job back and another worker runs it.
 * hoptrace counts that run as a redelivery (attempt 2), and the job completes exactly once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once as onceEvent } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { Queue, Worker } from 'bullmq';
import {
  METRIC_CONSUMED_MESSAGES,
  METRIC_REDELIVERIES,
  METRIC_STALLED_JOBS,
} from '../../../instrumentation/core/semconv.js';
import { connection, FAST, metricValue, once, processSpans, redis, redisUrl, traced } from './helpers.js';

const fixture = join(import.meta.dirname, 'fixtures', 'stall-worker.js');
const LOCK_MS = 1_000;

it('a worker killed mid-job: the job runs again, counted as a redelivery, nothing lost', async (t) => {
  if (!(await redis(t))) return;
  const { tracing, registry, telemetry, queueName } = traced('bq-stall', { serviceName: 'rescuer' });
  const queue = new Queue(queueName, { connection: connection(), telemetry, ...FAST });
  t.after(() => queue.obliterate({ force: true }).then(() => queue.close()));
  const job = await queue.add('charge', { order: 7 });

  const child = spawn(process.execPath, [fixture, redisUrl(), queueName, String(LOCK_MS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await Promise.race([
    onceEvent(lines, 'line'),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error('the doomed worker never started')), 10_000),
    ),
  ])) as [string];
  assert.equal(line, `started ${job.id}`);
  child.kill('SIGKILL');
  await onceEvent(child, 'exit');

  let runs = 0;
  const rescuer = new Worker(
    queueName,
    telemetry.processor(async () => {
      runs++;
      return 'charged';
    }),
    { connection: connection(), telemetry, stalledInterval: 300, lockDuration: LOCK_MS, ...FAST },
  );
  t.after(() => rescuer.close());
  const stalled = once(rescuer, 'stalled');
  const completed = once(rescuer, 'completed');
  await stalled;
  await completed;
  await rescuer.close();

  assert.equal(runs, 1);
  const counts = await queue.getJobCounts('completed', 'failed', 'wait', 'active', 'delayed');
  assert.deepEqual(counts, { completed: 1, failed: 0, wait: 0, active: 0, delayed: 0 });
  const spans = processSpans(tracing, queueName);
  assert.deepEqual(
    spans.map((s) => [s.attempt, s.outcome]),
    [[2, 'ack']],
  );
  const q = { messaging_destination_name: queueName };
  assert.equal(await metricValue(registry, METRIC_REDELIVERIES, q), 1);
  assert.equal(await metricValue(registry, METRIC_STALLED_JOBS, q), 1, 'the stalled check reported it');
  assert.equal(await metricValue(registry, METRIC_CONSUMED_MESSAGES, { ...q, hoptrace_outcome: 'ack' }), 1);
  // The rescued run continues the producer's trace.
  const producer = tracing.spans().find((s) => s.name === `add ${queueName}`);
  assert.equal(spans[0]!.traceId, producer?.spanContext().traceId);
});
