import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { bullTrace, interleavedAttempts, outcomesByJob } from '../../test/helpers/bullmq-trace.js';
import { createTestTracing } from '../../test/helpers/tracing.js';
import {
  ATTR_HOPTRACE_OUTCOME,
  ATTR_MESSAGING_MESSAGE_ID,
  HEADER_CORRELATION_ID,
  HEADER_PUBLISHED_AT,
  METRIC_INVALID_CONTEXT,
} from '../core/semconv.js';
import { decodeMetadata, encodeMetadata, jobNameFromSpanName, MAX_METADATA_LENGTH } from './metadata.js';
import { BullMQTelemetry } from './telemetry.js';

function setup(hooks = {}) {
  const tracing = createTestTracing();
  const registry = new Registry();
  const telemetry = new BullMQTelemetry({ tracerProvider: tracing.provider, registry, hooks });
  return { tracing, registry, telemetry };
}

/** Adds one job and processes it the way a Worker does; returns the stored metadata. */
async function addAndProcess(
  telemetry: BullMQTelemetry,
  processor: (job: { id: string; name: string }) => unknown,
  metadataOverride?: string,
) {
  const metadata = await bullTrace(
    telemetry,
    SpanKind.PRODUCER,
    'emails',
    'add',
    'emails.welcome',
    async (span, md) => {
      span.setAttributes({ 'bullmq.job.name': 'welcome', 'bullmq.job.id': '42' });
      return md;
    },
  );
  const job = {
    id: '42',
    name: 'welcome',
    timestamp: Date.now(),
    attemptsMade: 0,
    attemptsStarted: 1,
    opts: {},
  };
  const wrapped = telemetry.processor(processor);
  const result = await bullTrace(
    telemetry,
    SpanKind.CONSUMER,
    'emails',
    'process',
    'emails',
    async (span) => {
      span.setAttributes({ 'bullmq.job.id': '42', 'bullmq.job.name': 'welcome' });
      const value = await wrapped(job);
      await bullTrace(telemetry, SpanKind.INTERNAL, 'emails', 'complete', 'emails', async () => undefined);
      return value;
    },
    metadataOverride ?? metadata,
  );
  return { metadata, result };
}

describe('BullMQTelemetry driven as BullMQ drives it', () => {
  it('stores hoptrace headers as the job metadata and continues the trace in the worker', async () => {
    const { tracing, telemetry } = setup();
    const { metadata, result } = await addAndProcess(telemetry, () => 'sent');
    assert.equal(result, 'sent');
    const carrier = decodeMetadata(metadata)!;
    assert.match(carrier.traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.ok(carrier[HEADER_CORRELATION_ID]);
    assert.match(carrier[HEADER_PUBLISHED_AT]!, /^\d{13}$/);
    const producer = tracing.spans().find((s) => s.kind === SpanKind.PRODUCER)!;
    const consumer = tracing.spans().find((s) => s.kind === SpanKind.CONSUMER)!;
    assert.equal(producer.name, 'add emails');
    assert.equal(producer.attributes['bullmq.job.name'], 'welcome');
    assert.equal(producer.attributes[ATTR_MESSAGING_MESSAGE_ID], '42');
    assert.equal(consumer.name, 'process emails');
    assert.equal(consumer.spanContext().traceId, producer.spanContext().traceId);
    assert.equal(consumer.attributes[ATTR_HOPTRACE_OUTCOME], 'ack');
    assert.equal(tracing.spans().length, 2, 'BullMQ internal operations record nothing');
  });

  for (const wrap of [true, false]) {
    it(`concurrent attempts each get their own outcome (${wrap ? 'processor()' : 'option only'})`, async () => {
      const { tracing, telemetry } = setup();
      await interleavedAttempts(telemetry, wrap);
      assert.deepEqual(outcomesByJob(tracing.spans()), ['a/1 ack', 'a/2 ack', 'b/1 retry']);
    });
  }

  it('consume and settle hooks receive the Job the processor got', async () => {
    const messages: unknown[] = [];
    const { telemetry } = setup({
      consumeHook: (_span: unknown, info: { message: unknown }) => messages.push(info.message),
      settleHook: (_span: unknown, info: { message: unknown; outcome: string }) =>
        messages.push(info.message),
    });
    let processed: unknown;
    await addAndProcess(telemetry, (job) => {
      processed = job;
      return 'sent';
    });
    assert.equal(messages.length, 2);
    assert.ok(processed);
    for (const message of messages) assert.equal(message, processed);
  });

  it('hooks that throw do not affect the job', async () => {
    const boom = () => {
      throw new Error('hook failed');
    };
    const { tracing, telemetry } = setup({ publishHook: boom, consumeHook: boom, settleHook: boom });
    const { result } = await addAndProcess(telemetry, () => 'sent');
    assert.equal(result, 'sent');
    assert.equal(tracing.spans().length, 2);
  });

  it('metadata that is not hoptrace JSON: counted, a new trace, the job still runs', async () => {
    const { tracing, registry, telemetry } = setup();
    const { result } = await addAndProcess(telemetry, () => 'sent', '{not json');
    assert.equal(result, 'sent');
    const invalid = await registry.getSingleMetric(METRIC_INVALID_CONTEXT)!.get();
    assert.deepEqual(
      invalid.values.map((v) => [v.labels.reason, v.value]),
      [['header_type', 1]],
    );
    const producer = tracing.spans().find((s) => s.kind === SpanKind.PRODUCER)!;
    const consumer = tracing.spans().find((s) => s.kind === SpanKind.CONSUMER)!;
    assert.notEqual(consumer.spanContext().traceId, producer.spanContext().traceId);
  });

  it('processor() keeps this, arity, result and the very error object', async () => {
    const { telemetry } = setup();
    const error = new Error('failed');
    const withSignal = telemetry.processor(function (
      this: unknown,
      _job: unknown,
      _token?: string,
      _signal?: unknown,
    ) {
      return this;
    });
    assert.equal(withSignal.length, 3, 'BullMQ passes an AbortSignal only to processors of arity 3');
    const self = {};
    assert.equal(withSignal.call(self, {}), self, 'outside a process span the processor just runs');
    const failing = telemetry.processor(async () => {
      throw error;
    });
    await assert.rejects(addAndProcess(telemetry, failing as () => Promise<never>), (err) => err === error);
  });

  it('flow() copies the tree and gives every node options, leaving the caller tree as it was', () => {
    const { telemetry } = setup();
    const tree = { name: 'p', queueName: 'q', data: { x: 1 }, children: [{ name: 'c', queueName: 'r' }] };
    const before = JSON.stringify(tree);
    const copy = telemetry.flow(tree);
    assert.equal(JSON.stringify(tree), before);
    assert.deepEqual(copy, {
      name: 'p',
      queueName: 'q',
      data: { x: 1 },
      opts: {},
      children: [{ name: 'c', queueName: 'r', opts: {} }],
    });
    assert.equal(copy.data, tree.data, 'job data is not copied or touched');
  });
});

describe('job metadata', () => {
  it('accepts a JSON object of strings within the limits, nothing else', () => {
    assert.deepEqual(decodeMetadata('{"traceparent":"x","n":1}'), { traceparent: 'x' });
    assert.equal(decodeMetadata(undefined), undefined);
    assert.equal(decodeMetadata(''), undefined);
    assert.equal(decodeMetadata('[1]'), null);
    assert.equal(decodeMetadata('null'), null);
    assert.equal(decodeMetadata(42), null);
    assert.equal(decodeMetadata(`{"a":"${'x'.repeat(MAX_METADATA_LENGTH)}"}`), null);
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v']));
    assert.equal(decodeMetadata(JSON.stringify(many)), null);
  });

  it('encodes the string headers only, with the flow-node flag when asked', () => {
    assert.equal(
      encodeMetadata({ traceparent: 't', 'x-correlation-id': 'c' }),
      '{"traceparent":"t","x-correlation-id":"c"}',
    );
    assert.equal(encodeMetadata({ traceparent: 't', n: 1, b: Buffer.from('x') }), '{"traceparent":"t"}');
    assert.equal(
      encodeMetadata({ traceparent: 't' }, true),
      '{"traceparent":"t","x-hoptrace-flow-node":"1"}',
    );
    assert.equal(encodeMetadata(undefined), '{}');
    assert.deepEqual(decodeMetadata(encodeMetadata({ 'x-correlation-id': 'a"b\\c' })), {
      'x-correlation-id': 'a"b\\c',
    });
  });

  it('reads the job name from the span name BullMQ builds', () => {
    assert.equal(jobNameFromSpanName('emails.welcome.v2', 'emails'), 'welcome.v2');
    assert.equal(jobNameFromSpanName('emails', 'emails'), undefined);
  });
});
