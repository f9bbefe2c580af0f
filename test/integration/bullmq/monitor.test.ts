/**
 * The collector's BullMQ monitor on the real Redis: its gauges equal what BullMQ itself reports
 * (getJobCounts, isPaused), the failed set is the dead-letter gauge, and the wrappers counted each
 * dead-lettered job once.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Queue, Worker } from 'bullmq';
import { startCollector } from '../../../collector/start.js';
import {
  METRIC_CONSUMER_LAG_MESSAGES,
  METRIC_CONSUMER_LAG_SECONDS,
  METRIC_DEAD_LETTERED,
  METRIC_DLQ_MESSAGES,
  METRIC_QUEUE_MESSAGES,
  METRIC_QUEUE_OLDEST_AGE,
  METRIC_QUEUE_PAUSED,
} from '../../../instrumentation/core/semconv.js';
import { metricSum } from '../../helpers/collector.js';
import { waitFor } from '../../helpers/stack.js';
import { connection, FAST, metricValue, redis, redisUrl, traced } from './helpers.js';

it('the failed-set gauge equals the failed count; waiting, delayed, paused and lag as BullMQ reports them', async (t) => {
  if (!(await redis(t))) return;
  const { registry, telemetry, queueName } = traced('bq-monitor');
  const queue = new Queue(queueName, { connection: connection(), telemetry });
  t.after(() => queue.obliterate({ force: true }).then(() => queue.close()));
  const worker = new Worker(
    queueName,
    telemetry.processor(async () => {
      throw new Error('smtp down');
    }),
    { connection: connection(), telemetry, ...FAST },
  );
  let failed = 0;
  const allFailed = new Promise<void>((resolve) =>
    worker.on('failed', (job) => {
      if ((job?.attemptsMade ?? 0) >= 2 && ++failed === 3) resolve();
    }),
  );
  for (let i = 0; i < 3; i++)
    await queue.add('send', { i }, { attempts: 2, backoff: { type: 'fixed', delay: 10 } });
  await allFailed;
  await worker.close();
  // Now a backlog nobody takes: 2 waiting, 1 delayed, and the queue paused.
  const addedAt = Date.now();
  await queue.add('send', { i: 3 });
  await queue.add('send', { i: 4 });
  await queue.add('send', { i: 5 }, { delay: 60_000 });
  await queue.pause();

  const collector = await startCollector({
    port: 0,
    bullmq: { url: redisUrl(), queues: [queueName], intervalMs: 200 },
  });
  t.after(() => collector.close());
  const m = collector.metrics;
  const base = { messaging_system: 'bullmq', messaging_destination_name: queueName };
  await waitFor(async () => (await metricSum(m, METRIC_QUEUE_PAUSED, base)) === 1, {
    what: 'the monitor read the queue',
    timeoutMs: 10_000,
  });
  const counts = await queue.getJobCounts('failed', 'wait', 'delayed', 'active', 'completed');
  const waiting = counts.wait ?? 0;
  assert.equal(counts.failed, 3);
  assert.equal(waiting, 2);
  // The failed set is the queue's dead-letter queue, as destination `<queue>:failed`.
  const failedSet = { ...base, messaging_destination_name: `${queueName}:failed` };
  assert.equal(
    await metricSum(m, METRIC_DLQ_MESSAGES, { ...failedSet, dead_letter_source: queueName }),
    counts.failed,
  );
  const state = (s: string) => metricSum(m, METRIC_QUEUE_MESSAGES, { ...base, state: s });
  assert.equal(await metricSum(m, METRIC_QUEUE_MESSAGES, { ...failedSet, state: 'ready' }), counts.failed);
  assert.equal(await state('ready'), waiting);
  assert.equal(await state('delayed'), counts.delayed);
  assert.equal(await state('unacked'), 0);
  assert.equal(await state('completed'), 0);
  assert.equal(await queue.isPaused(), true);
  assert.equal(await metricSum(m, METRIC_CONSUMER_LAG_MESSAGES, base), 2);
  const age = await metricSum(m, METRIC_CONSUMER_LAG_SECONDS, base);
  assert.ok(age > 0 && age <= (Date.now() - addedAt) / 1000 + 1, `lag ${age} s`);
  assert.equal(await metricSum(m, METRIC_QUEUE_OLDEST_AGE, base), age);
  // The wrappers counted each dead-lettered job exactly once.
  assert.equal(await metricValue(registry, METRIC_DEAD_LETTERED, { ...base, reason: 'max_attempts' }), 3);

  await queue.resume();
  await waitFor(async () => (await metricSum(m, METRIC_QUEUE_PAUSED, base)) === 0, {
    what: 'the monitor saw the queue resumed',
    timeoutMs: 10_000,
  });
});
