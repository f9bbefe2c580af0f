/**
 * BullMQ on the real Redis with `BullMQTelemetry`: retries, the failed set, delayed jobs and flows,
 * on both supported majors (bullmq 6 and 5).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type * as BullMQ from 'bullmq';
import { Linker } from '../../../collector/linker/linker.js';
import { fromReadableSpan } from '../../../collector/otlp/readable-span.js';
import type { JourneyDelivery, JourneyPublish } from '../../../collector/types.js';
import {
  ATTR_HOPTRACE_DEAD_LETTER_REASON,
  ATTR_HOPTRACE_DELAY_MS,
  ATTR_HOPTRACE_FLOW_CHILDREN,
  ATTR_HOPTRACE_RETRY_DELAY_MS,
  ATTR_MESSAGING_MESSAGE_ID,
  METRIC_CONSUMED_MESSAGES,
  METRIC_DEAD_LETTERED,
  METRIC_MESSAGE_AGE,
  METRIC_REDELIVERIES,
  METRIC_SENT_MESSAGES,
} from '../../../instrumentation/core/semconv.js';
import {
  connection,
  FAST,
  histogram,
  hrMs,
  metricValue,
  once,
  processSpans,
  redis,
  traced,
} from './helpers.js';

const majors = [
  { name: 'bullmq 6', load: () => import('bullmq') as Promise<typeof BullMQ> },
  { name: 'bullmq 5', load: () => import('bullmq-5') as unknown as Promise<typeof BullMQ> },
];

const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

for (const major of majors) {
  describe(`BullMQTelemetry on ${major.name}`, () => {
    it('a job failing twice then succeeding: one trace, attempts 1-3, retry, retry, ack', async (t) => {
      if (!(await redis(t))) return;
      const { Queue, Worker } = await major.load();
      const { tracing, registry, telemetry, queueName } = traced('bq-retry', { serviceName: 'mailer' });
      const queue = new Queue(queueName, { connection: connection(), telemetry, ...FAST });
      let calls = 0;
      const worker = new Worker(
        queueName,
        telemetry.processor(async () => {
          calls++;
          if (calls < 3) throw new Error(`attempt ${calls} failed`);
          return 'sent';
        }),
        { connection: connection(), telemetry, ...FAST },
      );
      closers.push(
        () => worker.close(),
        () => queue.obliterate({ force: true }).then(() => queue.close()),
      );
      const done = once(worker, 'completed');
      const job = await queue.add(
        'welcome',
        { to: 'a@example.com' },
        {
          attempts: 3,
          backoff: { type: 'exponential', delay: 20 },
        },
      );
      await done;
      await worker.close();

      const spans = processSpans(tracing, queueName);
      assert.deepEqual(
        spans.map((s) => [s.attempt, s.outcome]),
        [
          [1, 'retry'],
          [2, 'retry'],
          [3, 'ack'],
        ],
      );
      const producer = tracing.spans().filter((s) => s.kind === SpanKind.PRODUCER);
      assert.equal(producer.length, 1);
      assert.equal(producer[0]!.name, `add ${queueName}`);
      assert.equal(producer[0]!.attributes['bullmq.job.name'], 'welcome');
      assert.equal(producer[0]!.attributes[ATTR_MESSAGING_MESSAGE_ID], job.id);
      const traceIds = new Set([producer[0]!.spanContext().traceId, ...spans.map((s) => s.traceId)]);
      assert.equal(traceIds.size, 1, 'one trace');
      assert.equal(new Set(spans.map((s) => s.correlationId)).size, 1, 'one correlation ID');
      assert.equal(spans[0]!.correlationId, producer[0]!.attributes['messaging.message.conversation_id']);
      // Exponential backoff: 20 ms then 40 ms, recorded on the failed attempts.
      assert.deepEqual(
        spans.map((s) => s.span.attributes[ATTR_HOPTRACE_RETRY_DELAY_MS]),
        [20, 40, undefined],
      );
      assert.equal(spans[0]!.span.status.code, SpanStatusCode.ERROR);
      assert.equal(spans[2]!.span.status.code, SpanStatusCode.UNSET);
      for (const s of spans)
        assert.equal(s.span.parentSpanContext?.spanId, producer[0]!.spanContext().spanId);

      const q = { messaging_destination_name: queueName };
      assert.equal(await metricValue(registry, METRIC_SENT_MESSAGES, q), 1);
      assert.equal(
        await metricValue(registry, METRIC_CONSUMED_MESSAGES, { ...q, hoptrace_outcome: 'retry' }),
        2,
      );
      assert.equal(
        await metricValue(registry, METRIC_CONSUMED_MESSAGES, { ...q, hoptrace_outcome: 'ack' }),
        1,
      );
      assert.equal(await metricValue(registry, METRIC_REDELIVERIES, q), 2);
      assert.equal(await metricValue(registry, METRIC_DEAD_LETTERED, q), 0);
    });

    it('a job that exhausts its attempts: dead_letter, reason max_attempts, counted once', async (t) => {
      if (!(await redis(t))) return;
      const { Queue, Worker, UnrecoverableError } = await major.load();
      const { tracing, registry, telemetry, queueName } = traced('bq-dead');
      const queue = new Queue(queueName, { connection: connection(), telemetry, ...FAST });
      const worker = new Worker(
        queueName,
        telemetry.processor(async (job: BullMQ.Job) => {
          if (job.name === 'fatal') throw new UnrecoverableError('bad address');
          throw new TypeError('smtp down');
        }),
        { connection: connection(), telemetry, ...FAST },
      );
      closers.push(
        () => worker.close(),
        () => queue.obliterate({ force: true }).then(() => queue.close()),
      );
      let failedEvents = 0;
      const failed = new Promise<void>((resolve) => {
        worker.on('failed', (job) => {
          if (job && (job.name === 'fatal' || job.attemptsMade >= 2)) failedEvents++;
          if (failedEvents === 2) resolve();
        });
      });
      await queue.add('send', {}, { attempts: 2, backoff: { type: 'fixed', delay: 10 } });
      await queue.add('fatal', {}, { attempts: 5 });
      await failed;
      await worker.close();

      const spans = processSpans(tracing, queueName);
      const send = spans.filter((s) => s.span.attributes['bullmq.job.name'] === 'send');
      const fatal = spans.filter((s) => s.span.attributes['bullmq.job.name'] === 'fatal');
      assert.deepEqual(
        send.map((s) => [s.attempt, s.outcome, s.span.attributes[ATTR_HOPTRACE_DEAD_LETTER_REASON]]),
        [
          [1, 'retry', undefined],
          [2, 'dead_letter', 'max_attempts'],
        ],
      );
      assert.equal(send[1]!.span.attributes['error.type'], 'TypeError');
      assert.deepEqual(
        fatal.map((s) => [s.attempt, s.outcome, s.span.attributes[ATTR_HOPTRACE_DEAD_LETTER_REASON]]),
        [[1, 'dead_letter', 'rejected']],
      );
      const q = { messaging_destination_name: queueName };
      assert.equal(await metricValue(registry, METRIC_DEAD_LETTERED, { ...q, reason: 'max_attempts' }), 1);
      assert.equal(await metricValue(registry, METRIC_DEAD_LETTERED, { ...q, reason: 'rejected' }), 1);
      assert.equal(
        await metricValue(registry, METRIC_CONSUMED_MESSAGES, { ...q, hoptrace_outcome: 'dead_letter' }),
        2,
      );
      assert.equal((await queue.getJobCounts('failed')).failed, 2);
    });

    it('a flow with a parent and 3 children: one trace, the parent after its children, linked to them', async (t) => {
      if (!(await redis(t))) return;
      const { Queue, Worker, FlowProducer } = await major.load();
      const { tracing, telemetry, queueName } = traced('bq-flow');
      const childQueue = `${queueName}-items`;
      const flows = new FlowProducer({ connection: connection(), telemetry, ...FAST });
      const parentWorker = new Worker(
        queueName,
        telemetry.processor(async () => 'shipped'),
        {
          connection: connection(),
          telemetry,
        },
      );
      const childWorker = new Worker(
        childQueue,
        telemetry.processor(async () => new Promise((r) => setTimeout(() => r('packed'), 20))),
        { connection: connection(), telemetry, concurrency: 3, ...FAST },
      );
      const queues = [
        new Queue(queueName, { connection: connection() }),
        new Queue(childQueue, { connection: connection() }),
      ];
      closers.push(
        () => parentWorker.close(),
        () => childWorker.close(),
        () => flows.close(),
        ...queues.map((q) => () => q.obliterate({ force: true }).then(() => q.close())),
      );
      const done = once(parentWorker, 'completed');
      await flows.add(
        telemetry.flow({
          name: 'ship-order',
          queueName,
          data: { order: 1 },
          children: [1, 2, 3].map((i) => ({ name: 'pack-item', queueName: childQueue, data: { i } })),
        }),
      );
      await done;
      await parentWorker.close();
      await childWorker.close();

      const children = processSpans(tracing, childQueue);
      const parent = processSpans(tracing, queueName);
      assert.equal(children.length, 3);
      assert.equal(parent.length, 1);
      const producers = tracing.spans().filter((s) => s.kind === SpanKind.PRODUCER);
      assert.equal(producers.length, 4);
      const traceIds = new Set(
        [...producers, ...children.map((c) => c.span), parent[0]!.span].map((s) => s.spanContext().traceId),
      );
      assert.equal(traceIds.size, 1, 'one trace');
      const correlation = new Set([...children, ...parent].map((s) => s.correlationId));
      assert.equal(correlation.size, 1, 'one correlation ID');
      // The parent runs after every child ended, and links to each child's producer span.
      const lastChildEnd = Math.max(...children.map((c) => hrMs(c.span.endTime)));
      assert.ok(hrMs(parent[0]!.span.startTime) >= lastChildEnd);
      const childProducers = new Set(children.map((c) => c.span.parentSpanContext?.spanId));
      assert.equal(childProducers.size, 3);
      // Besides its own producer (parent and link, as on every transport).
      const own = parent[0]!.span.parentSpanContext?.spanId;
      const linked = new Set(parent[0]!.span.links.map((l) => l.context.spanId).filter((id) => id !== own));
      assert.deepEqual([...linked].sort(), [...childProducers].sort());
      assert.equal(parent[0]!.span.attributes[ATTR_HOPTRACE_FLOW_CHILDREN], 3);
      assert.deepEqual(
        [...children, ...parent].map((s) => s.outcome),
        ['ack', 'ack', 'ack', 'ack'],
      );

      // Through the collector's linker: one journey, the fan-out to 3 children, a hop latency per job.
      const linker = new Linker();
      linker.ingest(tracing.spans().map(fromReadableSpan));
      linker.finalize();
      const journey = linker.journey(String(parent[0]!.correlationId));
      assert.ok(journey);
      assert.equal(journey.counts.publishes, 4);
      assert.equal(journey.counts.deliveries, 4, 'the parent is not counted as a delivery of its children');
      const all = journey.publishes.flatMap(function walk(p: JourneyPublish): JourneyDelivery[] {
        return p.deliveries.flatMap((d) => [d, ...d.publishes.flatMap(walk)]);
      });
      assert.deepEqual(
        all.map((d) => d.destination).sort(),
        [childQueue, childQueue, childQueue, queueName].sort(),
      );
      for (const d of all) assert.ok((d.hopLatencyMs ?? -1) >= 0, 'hop latency');
    });
  });
}

describe('BullMQTelemetry delayed jobs', () => {
  it('a job delayed 5 s: its message age counts from when it became due', async (t) => {
    if (!(await redis(t))) return;
    const { Queue, Worker } = await import('bullmq');
    const { tracing, registry, telemetry, queueName } = traced('bq-delay');
    const queue = new Queue(queueName, { connection: connection(), telemetry, ...FAST });
    const worker = new Worker(
      queueName,
      telemetry.processor(async () => 'ok'),
      {
        connection: connection(),
        telemetry,
      },
    );
    closers.push(
      () => worker.close(),
      () => queue.obliterate({ force: true }).then(() => queue.close()),
    );
    const done = once(worker, 'completed');
    const addedAt = Date.now();
    await queue.add('reminder', {}, { delay: 5_000 });
    await done;
    await worker.close();
    const [span] = processSpans(tracing, queueName);
    assert.ok(span);
    assert.equal(span.span.attributes[ATTR_HOPTRACE_DELAY_MS], 5_000);
    assert.ok(hrMs(span.span.startTime) - addedAt >= 5_000, 'processed after the delay');
    const age = await histogram(registry, METRIC_MESSAGE_AGE, { messaging_destination_name: queueName });
    assert.equal(age.count, 1);
    assert.ok(age.sum >= 0 && age.sum < 1.5, `message age ${age.sum} s excludes the 5 s delay`);
  });
});
