/**
 * Message bodies are never recorded, and headers only by allow-list (`captureHeaders`): a unique marker
 * goes through each transport in the body and in a header that is not allow-listed; it must appear in no
 * span (name, attributes, events, links, status), in no metric output (Prometheus and OpenMetrics), and
 * in nothing the collector serves (metrics, journeys) after ingesting those spans. The allow-listed
 * header is the positive control: it is recorded, as `hoptrace.header.<name>`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import amqplib from 'amqplib';
import { fromReadableSpan } from '../../../collector/otlp/readable-span.js';
import { startCollector } from '../../../collector/start.js';
import { instrumentAmqp } from '../../../instrumentation/amqp/index.js';
import { Bus } from '../../../instrumentation/bus/index.js';
import { withCorrelationId } from '../../../instrumentation/core/correlation.js';
import { createOpenMetricsRegistry, type MetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { renderMetrics } from '../../../instrumentation/core/metrics-format.js';
import { instrumentKafka } from '../../../instrumentation/kafka/index.js';
import { requireServer } from '../../helpers/env.js';
import { uniqueName } from '../../helpers/stack.js';
import { createTestTracing } from '../../helpers/tracing.js';
import {
  createTopic,
  disconnectAll,
  fastConsumerConfig,
  rawKafka,
  requireKafka,
  startConsumer,
} from '../kafka/kafka-helpers.js';
import { amqpUrl } from '../rabbitmq/helpers.js';

const ALLOWED = 'x-tenant';

function markers() {
  return {
    body: `BODY-${randomBytes(8).toString('hex')}`,
    secretHeader: `HEADER-${randomBytes(8).toString('hex')}`,
    tenant: `tenant-${randomBytes(4).toString('hex')}`,
  };
}

/** Everything a span exporter would send of a span, as text. */
function spanText(span: ReadableSpan): string {
  return JSON.stringify({
    name: span.name,
    attributes: span.attributes,
    events: span.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    links: span.links.map((l) => ({ attributes: l.attributes })),
    status: span.status,
    resource: span.resource.attributes,
    scope: span.instrumentationScope,
  });
}

async function metricsText(registry: MetricsRegistry): Promise<string> {
  const prometheus = await renderMetrics(registry, 'text/plain');
  const openMetrics = await renderMetrics(registry, 'application/openmetrics-text; version=1.0.0');
  return prometheus.body + openMetrics.body;
}

async function assertNothingRecorded(
  spans: ReadableSpan[],
  registry: MetricsRegistry,
  m: ReturnType<typeof markers>,
  correlationId: string,
): Promise<void> {
  assert.ok(spans.length >= 2, `producer and consumer spans (${spans.length})`);
  const text = spans.map(spanText).join('\n') + (await metricsText(registry));
  assert.ok(!text.includes(m.body), 'the body appears in no span and no metric');
  assert.ok(!text.includes(m.secretHeader), 'a header not allow-listed appears nowhere');
  const consumer = spans.find((s) => s.name.startsWith('process '));
  assert.equal(
    consumer?.attributes[`hoptrace.header.${ALLOWED}`],
    m.tenant,
    'the allow-listed header is recorded',
  );

  // ... and the collector, fed these spans, serves neither.
  const collector = await startCollector({ port: 0 });
  try {
    await collector.ingestSpans(spans.map((s) => fromReadableSpan(s)));
    const served = [
      await (await fetch(`${collector.url}/metrics`)).text(),
      await (
        await fetch(`${collector.url}/metrics`, { headers: { accept: 'application/openmetrics-text' } })
      ).text(),
      await (await fetch(`${collector.url}/api/journeys/${correlationId}`)).text(),
      await (await fetch(`${collector.url}/api/journeys?limit=100`)).text(),
    ].join('\n');
    assert.match(served, new RegExp(correlationId), 'the journey is there');
    assert.ok(!served.includes(m.body) && !served.includes(m.secretHeader), 'the collector serves no marker');
  } finally {
    await collector.close();
  }
}

test('RabbitMQ: no body, no header outside the allow-list', async (t) => {
  if (!(await requireServer(t, 'RabbitMQ', () => amqplib.connect(amqpUrl()).then((c) => c.close())))) return;
  const m = markers();
  const tracing = createTestTracing();
  const registry = createOpenMetricsRegistry();
  const conn = instrumentAmqp(await amqplib.connect(amqpUrl()), {
    tracerProvider: tracing.provider,
    registry,
    captureHeaders: [ALLOWED],
  });
  t.after(() => conn.close());
  const ch = await conn.createConfirmChannel();
  const queue = uniqueName('hoptrace-test.no-bodies');
  await ch.assertQueue(queue, { exclusive: true });
  const correlationId = uniqueName('no-bodies-amqp');
  const consumed = new Promise<void>((resolve) => {
    void ch.consume(queue, (msg) => {
      if (!msg) return;
      ch.ack(msg);
      resolve();
    });
  });
  await withCorrelationId(correlationId, async () => {
    ch.sendToQueue(queue, Buffer.from(`{"order":"${m.body}"}`), {
      headers: { 'x-secret': m.secretHeader, [ALLOWED]: m.tenant },
    });
    await ch.waitForConfirms();
  });
  await consumed;
  await new Promise((r) => setTimeout(r, 50));
  await assertNothingRecorded(tracing.spans(), registry, m, correlationId);
});

test('Kafka: no body, no header outside the allow-list', async (t) => {
  if (!(await requireKafka(t))) return;
  const m = markers();
  const tracing = createTestTracing();
  const registry = createOpenMetricsRegistry();
  const kafka = instrumentKafka(rawKafka(), {
    tracerProvider: tracing.provider,
    registry,
    captureHeaders: [ALLOWED],
  });
  const topic = uniqueName('no-bodies');
  await createTopic(topic);
  const producer = kafka.producer();
  const consumer = kafka.consumer(fastConsumerConfig(uniqueName('no-bodies')));
  t.after(() => disconnectAll(consumer, producer));
  let resolveConsumed = () => {};
  const consumed = new Promise<void>((resolve) => {
    resolveConsumed = resolve;
  });
  await startConsumer(consumer, [topic], { eachMessage: async () => resolveConsumed() });
  await producer.connect();
  const correlationId = uniqueName('no-bodies-kafka');
  await withCorrelationId(correlationId, () =>
    producer.send({
      topic,
      messages: [
        {
          key: 'order-1',
          value: `{"order":"${m.body}"}`,
          headers: { 'x-secret': m.secretHeader, [ALLOWED]: m.tenant },
        },
      ],
    }),
  );
  await consumed;
  await new Promise((r) => setTimeout(r, 100));
  await assertNothingRecorded(tracing.spans(), registry, m, correlationId);
});

test('bus: no payload, no header outside the allow-list', async () => {
  const m = markers();
  const tracing = createTestTracing();
  const registry = createOpenMetricsRegistry();
  const bus = new Bus({ tracerProvider: tracing.provider, registry, captureHeaders: [ALLOWED] });
  bus.subscribe('orders', () => undefined);
  const correlationId = uniqueName('no-bodies-bus');
  await bus.publish(
    'orders',
    { order: m.body },
    { correlationId, headers: { 'x-secret': m.secretHeader, [ALLOWED]: m.tenant } },
  );
  await bus.close();
  await assertNothingRecorded(tracing.spans(), registry, m, correlationId);
});
