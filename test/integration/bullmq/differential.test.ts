/**
 * The same jobs with and without `BullMQTelemetry` (and its processor() and flow() hooks): the
 * application sees the same events, results, errors (the same objects), job data and final states.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FlowProducer, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { uniqueName } from '../../helpers/stack.js';
import { connection, FAST, redis, traced } from './helpers.js';

interface Observed {
  events: string[];
  sameErrors: boolean;
  jobs: Record<string, unknown>[];
  counts: Record<string, number>;
}

async function scenario(withTelemetry: boolean): Promise<Observed> {
  const { telemetry } = traced('unused');
  const tm = withTelemetry ? { telemetry } : {};
  const wrap = <F extends (job: Job) => Promise<unknown>>(fn: F): F =>
    withTelemetry ? telemetry.processor(fn) : fn;
  const flowOf = <T extends Parameters<FlowProducer['add']>[0]>(tree: T): T =>
    withTelemetry ? telemetry.flow(tree) : tree;
  const queueName = uniqueName('bq-diff');
  const queue = new Queue(queueName, { connection: connection(), ...tm });
  const flows = new FlowProducer({ connection: connection(), ...tm });
  const thrown = new Map<string, unknown>();
  const flaky = new Set<string>();
  // Not async: 'bad' and 'fatal' throw synchronously, the others resolve or reject.
  const processor = wrap((job: Job): Promise<unknown> => {
    const fail = (err: Error) => {
      thrown.set(`${job.name}:${job.attemptsMade}`, err);
      throw err;
    };
    switch (job.name) {
      case 'double':
        return Promise.resolve((job.data as { n: number }).n * 2);
      case 'flaky':
        if (!flaky.has(job.id!)) {
          flaky.add(job.id!);
          return Promise.reject(thrown.set('flaky:0', new Error('first try')).get('flaky:0'));
        }
        return Promise.resolve('second try');
      case 'bad':
        return fail(new RangeError('always'));
      case 'fatal':
        return fail(new UnrecoverableError('give up'));
      default:
        return Promise.resolve(`${job.name} done`);
    }
  });
  const worker = new Worker(queueName, processor, { connection: connection(), ...tm, ...FAST });
  const events: string[] = [];
  let sameErrors = true;
  let finished = 0;
  const expected = 7;
  const allDone = new Promise<void>((resolve) => {
    const done = () => {
      if (++finished === expected) resolve();
    };
    worker.on('completed', (job, result) => {
      events.push(`completed ${job.name} ${job.attemptsMade} ${JSON.stringify(result)}`);
      done();
    });
    worker.on('failed', (job, err) => {
      if (!job) return;
      const key = `${job.name}:${job.attemptsMade - 1}`;
      if (thrown.has(key) && thrown.get(key) !== err) sameErrors = false;
      events.push(`failed ${job.name} ${job.attemptsMade} ${err.name} ${err.message}`);
      if (job.name === 'fatal' || job.attemptsMade >= (job.opts.attempts ?? 1)) done();
    });
  });
  const fast = { backoff: { type: 'fixed', delay: 10 } };
  await queue.add('double', { n: 21 });
  await queue.add('flaky', {}, { attempts: 2, ...fast });
  await queue.add('bad', {}, { attempts: 2, ...fast });
  await queue.add('fatal', {}, { attempts: 3 });
  await queue.add('later', {}, { delay: 100 });
  await flows.add(
    flowOf({ name: 'parent', queueName, children: [{ name: 'child', queueName, data: { c: 1 } }] }),
  );
  await allDone;
  await worker.close();
  const all = await queue.getJobs(['completed', 'failed']);
  const jobs = all
    .map((j) => ({
      name: j.name,
      data: j.data,
      returnvalue: j.returnvalue,
      failedReason: j.failedReason,
      attemptsMade: j.attemptsMade,
      delay: j.opts.delay,
      attempts: j.opts.attempts,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const counts = await queue.getJobCounts('completed', 'failed', 'wait', 'active', 'delayed');
  await flows.close();
  await queue.obliterate({ force: true });
  await queue.close();
  events.sort();
  return { events, sameErrors, jobs, counts };
}

it('with and without BullMQTelemetry the application observes the same', async (t) => {
  if (!(await redis(t))) return;
  const without = await scenario(false);
  const withTelemetry = await scenario(true);
  assert.deepEqual(withTelemetry, without);
  assert.equal(without.sameErrors, true);
  assert.deepEqual(without.counts, { completed: 5, failed: 2, wait: 0, active: 0, delayed: 0 });
  assert.equal(without.events.length, 9);
});
