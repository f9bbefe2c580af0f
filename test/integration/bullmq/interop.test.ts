/**
 * bullmq-otel on one side, hoptrace on the other: both store a JSON propagation carrier as the job's
 * telemetry metadata, so each reads the other's `traceparent` and the job stays in one trace.
 * bullmq-otel uses the global tracer provider and propagator, as an OTel SDK setup registers them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { propagation, SpanKind, trace } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { Queue, Worker } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { connection, FAST, once, processSpans, redis, traced } from './helpers.js';

describe('interop with bullmq-otel', () => {
  const shared = traced('bq-interop');
  trace.setGlobalTracerProvider(shared.tracing.provider);
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );

  it('bullmq-otel producer, hoptrace worker: one trace', async (t) => {
    if (!(await redis(t))) return;
    const { tracing, telemetry } = shared;
    const queueName = `${shared.queueName}-a`;
    const queue = new Queue(queueName, {
      connection: connection(),
      telemetry: new BullMQOtel({ tracerName: 'peer' }),
    });
    const worker = new Worker(
      queueName,
      telemetry.processor(async () => 'ok'),
      {
        connection: connection(),
        telemetry,
        ...FAST,
      },
    );
    t.after(async () => {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    });
    const done = once(worker, 'completed');
    const job = await queue.add('ping', {});
    await done;
    await worker.close();
    const producer = tracing.spans().find((s) => s.name === `add ${queueName}.ping`);
    assert.equal(producer?.kind, SpanKind.PRODUCER, 'bullmq-otel span');
    const [consumer] = processSpans(tracing, queueName);
    assert.equal(consumer?.traceId, producer.spanContext().traceId);
    assert.equal(consumer.span.parentSpanContext?.spanId, producer.spanContext().spanId);
    assert.equal(consumer.span.attributes['messaging.message.id'], job.id);
    assert.equal(consumer.outcome, 'ack');
    assert.equal(typeof consumer.correlationId, 'string', 'a correlation ID starts here');
  });

  it('hoptrace producer, bullmq-otel worker: one trace', async (t) => {
    if (!(await redis(t))) return;
    const { tracing, telemetry } = shared;
    const queueName = `${shared.queueName}-b`;
    const queue = new Queue(queueName, { connection: connection(), telemetry });
    const worker = new Worker(queueName, async () => 'ok', {
      connection: connection(),
      telemetry: new BullMQOtel({ tracerName: 'peer' }),
      ...FAST,
    });
    t.after(async () => {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    });
    const done = once(worker, 'completed');
    await queue.add('ping', {});
    await done;
    await worker.close();
    const producer = tracing.spans().find((s) => s.name === `add ${queueName}`);
    assert.equal(producer?.kind, SpanKind.PRODUCER, 'hoptrace span');
    const consumer = tracing
      .spans()
      .find((s) => s.name === `process ${queueName}` && s.kind === SpanKind.CONSUMER);
    assert.equal(consumer?.spanContext().traceId, producer.spanContext().traceId);
    assert.equal(consumer.parentSpanContext?.spanId, producer.spanContext().spanId);
  });
});
