/**
 * The malformed-header corpus (test/fixtures/malformed-headers.ts) through the real brokers and the bus:
 * a raw client publishes each case, an instrumented consumer handles it. For every message: it is
 * delivered once, the handler runs, the trace is new (or continues the one valid traceparent the case
 * names), the correlation ID is adopted only when valid, and `hoptrace_invalid_context_total{reason}`
 * grows by exactly the case's reasons. Nothing throws, nothing is swallowed by the guard, no span dangles.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import amqplib from 'amqplib';
import { instrumentAmqp } from '../../../instrumentation/amqp/index.js';
import { Bus } from '../../../instrumentation/bus/index.js';
import { currentCorrelationId } from '../../../instrumentation/core/correlation.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import {
  ATTR_MESSAGING_MESSAGE_ID,
  HEADER_CORRELATION_ID,
  HEADER_ORIGIN_AT,
  HEADER_PUBLISHED_AT,
} from '../../../instrumentation/core/semconv.js';
import { instrumentKafka } from '../../../instrumentation/kafka/index.js';
import { casesFor, type MalformedHeaderCase } from '../../fixtures/malformed-headers.js';
import { requireServer } from '../../helpers/env.js';
import { countReasons, countsDelta, invalidCounts } from '../../helpers/invalid-context.js';
import {
  createTopic,
  disconnectAll,
  fastConsumerConfig,
  rawKafka,
  requireKafka,
  startConsumer,
  uniqueName,
} from '../kafka/kafka-helpers.js';
import { amqpUrl } from '../rabbitmq/helpers.js';
import { createTrackedTracing, type ProcessWatch, watchProcess } from './harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Handled {
  correlationId: string | undefined;
  traceId: string | undefined;
  redelivered?: boolean;
}

async function waitUntil(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The consumer span of `c`, found by the message id the test gave it (AMQP messageId, Kafka key). */
function consumerSpanOf(
  spans: ReadableSpan[],
  match: (span: ReadableSpan) => boolean,
): ReadableSpan | undefined {
  return spans.find((s) => s.name.startsWith('process ') && match(s));
}

function assertTrace(c: MalformedHeaderCase, span: ReadableSpan, handled: Handled): void {
  assert.equal(handled.traceId, span.spanContext().traceId, `${c.id}: the handler ran inside its span`);
  if (c.continues) {
    const [, traceId, spanId] = c.continues.split('-');
    assert.equal(span.spanContext().traceId, traceId, `${c.id}: continues the valid trace`);
    assert.equal(span.parentSpanContext?.spanId, spanId, `${c.id}: parent is the producer span`);
  } else {
    assert.equal(span.parentSpanContext, undefined, `${c.id}: a new trace (no parent)`);
    assert.deepEqual(span.links, [], `${c.id}: linked to nothing`);
  }
  if (c.correlationId) assert.equal(handled.correlationId, c.correlationId, `${c.id}: correlation adopted`);
  else assert.match(handled.correlationId ?? '', UUID, `${c.id}: a new correlation ID`);
}

function assertQuiet(watch: ProcessWatch, dangling: string[]): void {
  assert.deepEqual(watch.unhandledRejections, [], 'no unhandled rejection');
  assert.deepEqual(watch.uncaughtExceptions, [], 'no uncaught exception');
  assert.deepEqual(watch.diagErrors, [], 'the guard swallowed no hoptrace failure');
  assert.deepEqual(dangling, [], 'every span ended');
}

test('RabbitMQ: raw amqplib publisher -> instrumented consumer, every corpus case', {
  timeout: 120_000,
}, async (t) => {
  let publisherConn: amqplib.ChannelModel | undefined;
  if (!(await requireServer(t, 'RabbitMQ', async () => (publisherConn = await amqplib.connect(amqpUrl())))))
    return;
  const watch = watchProcess();
  const tracing = createTrackedTracing();
  const registry = createOpenMetricsRegistry();
  const consumerConn = instrumentAmqp(await amqplib.connect(amqpUrl()), {
    tracerProvider: tracing.provider,
    registry,
  });
  const queue = uniqueName('hoptrace-test.corpus');
  // A broker-side failure must fail the test, not crash the process through an unhandled 'error'.
  publisherConn!.on('error', () => undefined);
  consumerConn.on('error', () => undefined);
  const publisher = await publisherConn!.createConfirmChannel();
  const consumer = await consumerConn.createChannel();
  t.after(async () => {
    await publisher.deleteQueue(queue).catch(() => undefined);
    await publisherConn?.close().catch(() => undefined);
    await consumerConn.close().catch(() => undefined);
    watch.stop();
  });
  await publisher.assertQueue(queue, { durable: false });

  const handled = new Map<string, Handled[]>();
  await consumer.consume(queue, (msg) => {
    if (!msg) return;
    const id = String(msg.properties.messageId);
    const list = handled.get(id) ?? [];
    list.push({
      correlationId: currentCorrelationId(),
      traceId: trace.getActiveSpan()?.spanContext().traceId,
      redelivered: msg.fields.redelivered,
    });
    handled.set(id, list);
    consumer.ack(msg);
  });

  const cases = casesFor('rabbitmq');
  for (const c of cases) {
    const before = await invalidCounts(registry);
    publisher.sendToQueue(queue, Buffer.from(c.id), { headers: c.headers, messageId: c.id });
    await publisher.waitForConfirms();
    await waitUntil(
      () =>
        consumerSpanOf(tracing.spans(), (s) => s.attributes[ATTR_MESSAGING_MESSAGE_ID] === c.id) !==
        undefined,
      `${c.id} delivered and its span ended`,
    );
    const delta = countsDelta(before, await invalidCounts(registry));
    assert.deepEqual(delta, countReasons(c.invalid), `${c.id}: invalid-context counts`);
    const runs = handled.get(c.id) ?? [];
    assert.equal(runs.length, 1, `${c.id}: handled once`);
    const span = consumerSpanOf(tracing.spans(), (s) => s.attributes[ATTR_MESSAGING_MESSAGE_ID] === c.id)!;
    assertTrace(c, span, runs[0]!);
  }

  assert.equal(handled.size, cases.length, 'every message delivered');
  assertQuiet(watch, tracing.tracker.dangling());
  t.diagnostic(
    `${cases.length} cases, ${Object.values(await invalidCounts(registry)).reduce((a, b) => a + b, 0)} invalid values counted`,
  );
});

test('Kafka: raw kafkajs producer -> instrumented consumer, every corpus case', {
  timeout: 120_000,
}, async (t) => {
  if (!(await requireKafka(t))) return;
  const watch = watchProcess();
  const tracing = createTrackedTracing();
  const registry = createOpenMetricsRegistry();
  const topic = uniqueName('corpus');
  await createTopic(topic);
  const producer = rawKafka().producer();
  const kafka = instrumentKafka(rawKafka(), { tracerProvider: tracing.provider, registry });
  const consumer = kafka.consumer(fastConsumerConfig(uniqueName('corpus-group')));
  t.after(async () => {
    await disconnectAll(consumer, producer);
    watch.stop();
  });
  await producer.connect();

  const handled = new Map<string, Handled[]>();
  await startConsumer(consumer, [topic], {
    eachMessage: async ({ message }) => {
      const id = String(message.key);
      const list = handled.get(id) ?? [];
      list.push({
        correlationId: currentCorrelationId(),
        traceId: trace.getActiveSpan()?.spanContext().traceId,
      });
      handled.set(id, list);
    },
  });

  const cases = casesFor('kafka');
  const offsets: string[] = [];
  for (const c of cases) {
    const before = await invalidCounts(registry);
    const [meta] = await producer.send({
      topic,
      messages: [
        {
          key: c.id,
          value: c.id,
          headers: c.headers as Record<string, string | Buffer | (string | Buffer)[]>,
        },
      ],
    });
    offsets.push(String(meta?.baseOffset));
    const spanOf = () =>
      consumerSpanOf(tracing.spans(), (s) => s.attributes['messaging.kafka.message.key'] === c.id);
    await waitUntil(() => spanOf() !== undefined, `${c.id} delivered and its span ended`);
    const delta = countsDelta(before, await invalidCounts(registry));
    assert.deepEqual(delta, countReasons(c.invalid), `${c.id}: invalid-context counts`);
    const runs = handled.get(c.id) ?? [];
    assert.equal(runs.length, 1, `${c.id}: handled once`);
    assertTrace(c, spanOf()!, runs[0]!);
  }

  assert.equal(handled.size, cases.length, 'every record delivered');
  assert.deepEqual(
    offsets,
    cases.map((_, i) => String(i)),
    'one record per case, offsets 0..n-1',
  );
  assertQuiet(watch, tracing.tracker.dangling());
  t.diagnostic(`${cases.length} cases`);
});

test('bus: every corpus case publishes, is handled, and never lends its headers trace context', async () => {
  const watch = watchProcess();
  const tracing = createTrackedTracing();
  const registry = createOpenMetricsRegistry();
  const bus = new Bus({ name: 'corpus', tracerProvider: tracing.provider, registry });
  const handled = new Map<
    string,
    Handled & { headers: Readonly<Record<string, unknown>>; publishedAt: number }
  >();
  bus.subscribe('corpus', (message) => {
    handled.set(String(message.payload), {
      correlationId: currentCorrelationId(),
      traceId: trace.getActiveSpan()?.spanContext().traceId,
      headers: message.headers,
      publishedAt: message.publishedAt,
    });
  });

  const cases = casesFor('bus');
  for (const c of cases) {
    const result = await bus.publish('corpus', c.id, { headers: c.headers });
    await bus.drain();
    const seen = handled.get(c.id);
    assert.ok(seen, `${c.id}: handled`);
    assert.equal(
      result.correlationId,
      seen.correlationId,
      `${c.id}: the handler sees the publish's correlation ID`,
    );
    if (c.correlationId) assert.equal(seen.correlationId, c.correlationId, `${c.id}: correlation adopted`);
    else assert.match(seen.correlationId ?? '', UUID, `${c.id}: a new correlation ID`);
    const producer = tracing
      .spans()
      .find((s) => s.name === 'send corpus' && s.attributes[ATTR_MESSAGING_MESSAGE_ID] === result.messageId);
    assert.ok(producer, `${c.id}: producer span`);
    assert.equal(producer.parentSpanContext, undefined, `${c.id}: a new trace, whatever the headers say`);
    assert.equal(
      seen.traceId,
      producer.spanContext().traceId,
      `${c.id}: the handler runs in the publish's trace`,
    );
    // hoptrace's own headers are rewritten on every publish (correlation ID, publish time, flow origin).
    assert.equal(
      seen.headers[HEADER_PUBLISHED_AT],
      String(seen.publishedAt),
      `${c.id}: publish time written`,
    );
    for (const [key, value] of Object.entries(c.headers)) {
      if ([HEADER_CORRELATION_ID, HEADER_PUBLISHED_AT, HEADER_ORIGIN_AT].includes(key)) continue;
      assert.equal(seen.headers[key], value, `${c.id}: header ${key} reaches the handler untouched`);
    }
  }
  await bus.close();
  assert.deepEqual(
    await invalidCounts(registry),
    {},
    'the bus reads no trace context from headers: nothing counted',
  );
  assertQuiet(watch, tracing.tracker.dangling());
});
