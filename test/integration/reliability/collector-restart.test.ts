/**
 * Fault injection: the collector is killed (SIGKILL) and restarted on the same port while instrumented
 * RabbitMQ services export their spans to it over OTLP (the OTel SDK's BatchSpanProcessor and OTLP/HTTP
 * exporter, as a service would). The shared stack's RabbitMQ carries the messages.
 *
 * Proves: the services do not notice: every message is published, confirmed and consumed exactly once,
 * no unhandled rejection, no hoptrace failure (the exporter's own failed exports are logged by the OTel
 * SDK and counted here); and every flow published after the collector is back links into a complete
 * journey (publish -> delivery, outcome ack).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { context, DiagLogLevel, diag } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import amqplib from 'amqplib';
import type { Journey } from '../../../collector/types.js';
import { instrumentAmqp } from '../../../instrumentation/amqp/index.js';
import { withCorrelationId } from '../../../instrumentation/core/correlation.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { requireServer } from '../../helpers/env.js';
import { uniqueName } from '../../helpers/stack.js';
import { amqpUrl } from '../rabbitmq/helpers.js';
import { type CollectorProcess, freePort, startCollectorProcess } from './collector-process.js';
import { SpanTracker, settle } from './harness.js';

const MESSAGES = 300;
const KILL_AT = 100;
const PACE_MS = 20;

test('collector killed and restarted: services unaffected, flows after the restart link', {
  timeout: 180_000,
}, async (t) => {
  if (!(await requireServer(t, 'RabbitMQ', () => amqplib.connect(amqpUrl()).then((c) => c.close())))) return;
  const port = await freePort();
  let collector: CollectorProcess = await startCollectorProcess(port, ['--unconsumed-deadline-ms', '600000']);
  t.after(() => collector.kill('SIGKILL'));

  // The services' telemetry, as a Node service sets it up.
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  const diagLines: string[] = [];
  const record =
    (level: string) =>
    (message: string, ...args: unknown[]) =>
      diagLines.push(`${level} ${message} ${args.map(String).join(' ')}`);
  diag.setLogger(
    { error: record('error'), warn: record('warn'), info: () => {}, debug: () => {}, verbose: () => {} },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => {
    process.off('unhandledRejection', onUnhandled);
    diag.disable();
    context.disable();
  });
  const tracker = new SpanTracker();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'collector-restart-test' }),
    spanProcessors: [
      tracker,
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${collector.url}/v1/traces`, timeoutMillis: 2000 }),
        scheduledDelayMillis: 100,
      }),
    ],
  });
  const registry = createOpenMetricsRegistry();
  const queue = uniqueName('hoptrace-test.collector-restart');
  const producerConn = instrumentAmqp(await amqplib.connect(amqpUrl()), {
    tracerProvider: provider,
    registry,
    serviceName: 'orders',
  });
  const consumerConn = instrumentAmqp(await amqplib.connect(amqpUrl()), {
    tracerProvider: provider,
    registry,
    serviceName: 'billing',
  });
  t.after(async () => {
    await producerConn.close().catch(() => undefined);
    await consumerConn.close().catch(() => undefined);
  });
  const producer = await producerConn.createConfirmChannel();
  const consumer = await consumerConn.createChannel();
  await producer.assertQueue(queue, { durable: false, autoDelete: false });
  t.after(async () => {
    const ch = await producerConn.createChannel().catch(() => undefined);
    await ch?.deleteQueue(queue).catch(() => undefined);
  });

  const consumed = new Map<string, number>();
  await consumer.consume(queue, async (msg) => {
    if (!msg) return;
    const id = String(msg.properties.headers?.['x-correlation-id']);
    consumed.set(id, (consumed.get(id) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, 2));
    consumer.ack(msg);
  });

  let confirmedCount = 0;
  let current = 0;
  /** The first flow published entirely after the new collector answered /healthz. */
  let firstAfterRestart = MESSAGES;
  let restarting: Promise<void> | undefined;
  let downMs = 0;
  for (; current < MESSAGES; current++) {
    if (current === KILL_AT) {
      const killedAt = Date.now();
      await collector.kill('SIGKILL');
      restarting = (async () => {
        await settle(1500); // a real outage: exports fail meanwhile
        collector = await startCollectorProcess(port, ['--unconsumed-deadline-ms', '600000']);
        downMs = Date.now() - killedAt;
        firstAfterRestart = current + 1;
      })();
    }
    const index = current;
    await withCorrelationId(`flow-${queue}-${index}`, async () => {
      producer.sendToQueue(queue, Buffer.from(String(index)));
      await producer.waitForConfirms();
    });
    confirmedCount++;
    await settle(PACE_MS);
  }
  await restarting;

  const deadline = Date.now() + 30_000;
  while (consumed.size < MESSAGES && Date.now() < deadline) await settle(50);
  await settle(200);
  await provider.forceFlush();

  // The services did not notice.
  assert.equal(confirmedCount, MESSAGES);
  assert.equal(consumed.size, MESSAGES, 'every message consumed');
  assert.deepEqual(
    [...consumed.values()].filter((n) => n !== 1),
    [],
    'each exactly once',
  );
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
  assert.deepEqual(
    diagLines.filter((line) => line.includes('hoptrace')),
    [],
    'no hoptrace failure was logged',
  );
  assert.deepEqual(tracker.dangling(), [], 'every span ended');

  // Flows published after the restart are complete journeys.
  const journey = async (index: number): Promise<Journey | undefined> => {
    const response = await fetch(
      `${collector.url}/api/journeys/${encodeURIComponent(`flow-${queue}-${index}`)}`,
    );
    return response.ok ? ((await response.json()) as Journey) : undefined;
  };
  const complete = (j: Journey | undefined) =>
    j !== undefined &&
    j.publishes.length === 1 &&
    j.publishes[0]?.deliveries.length === 1 &&
    j.publishes[0]?.deliveries[0]?.outcome === 'ack' &&
    j.publishes[0]?.deliveries[0]?.attempts[0]?.matchedBy !== undefined;
  let completeAfter = 0;
  let completeBeforeKill = 0;
  let completeDuringOutage = 0;
  const incomplete: number[] = [];
  const linkDeadline = Date.now() + 20_000;
  for (let i = 0; i < MESSAGES; i++) {
    let j = await journey(i);
    if (i >= firstAfterRestart) {
      while (!complete(j) && Date.now() < linkDeadline) {
        await settle(100);
        j = await journey(i);
      }
      if (complete(j)) completeAfter++;
      else incomplete.push(i);
    } else if (complete(j)) {
      if (i < KILL_AT) completeBeforeKill++;
      else completeDuringOutage++;
    }
  }
  assert.deepEqual(incomplete, [], 'every flow published after the restart is a complete journey');
  assert.ok(
    MESSAGES - firstAfterRestart > 100,
    `enough flows after the restart (${MESSAGES - firstAfterRestart})`,
  );

  const exportFailures = diagLines.filter((line) => !line.includes('hoptrace')).length;
  t.diagnostic(
    JSON.stringify({
      messages: MESSAGES,
      consumed: consumed.size,
      collectorDownMs: downMs,
      // The collector keeps journeys in memory: those of flows before the kill died with it.
      flowsBeforeKill: KILL_AT,
      completeJourneysBeforeKill: completeBeforeKill,
      flowsDuringOutage: firstAfterRestart - KILL_AT,
      completeJourneysDuringOutage: completeDuringOutage,
      flowsAfterRestart: MESSAGES - firstAfterRestart,
      completeJourneysAfterRestart: completeAfter,
      sdkExportWarnings: exportFailures,
    }),
  );
  await provider.shutdown();
});
