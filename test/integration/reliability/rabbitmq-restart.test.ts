/**
 * Fault injection: the RabbitMQ node is stopped and restarted in the middle of a stream, with the
 * reconnecting publisher (confirm channel) and consumer of examples/rabbitmq/reconnect.ts, both
 * instrumented. Runs on a private node (own directory, ports +2000) so the shared stack is untouched.
 *
 * Proves: every confirmed message is consumed; a message consumed twice was either redelivered by the
 * broker (`redelivered` set) or published twice because its first confirm was lost (the publisher says
 * so); every span that started ended; no unhandled rejection or uncaught exception; hoptrace's guard
 * swallowed nothing; after close no timer or socket keeps the process alive; no log line shows the
 * password of the AMQP URL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Channel, ChannelModel } from 'amqplib';
import {
  describeBroker,
  startReconnectingConsumer,
  startReconnectingPublisher,
} from '../../../examples/rabbitmq/reconnect.js';
import { instrumentAmqp } from '../../../instrumentation/amqp/index.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { METRIC_CONSUMED_MESSAGES, METRIC_SENT_MESSAGES } from '../../../instrumentation/core/semconv.js';
import { stackRequired } from '../../helpers/env.js';
import { uniqueName } from '../../helpers/stack.js';
import { activeResources, createTrackedTracing, settle, watchProcess } from './harness.js';
import { createPrivateStack, type PrivateStack } from './private-stack.js';

const TOTAL = 2000;
const RESTART_AFTER = 500;
const IN_FLIGHT = 64;
/** Spacing of publishes: the stream must still run while the node stops (a clean stop takes seconds). */
const PACE_MS = 3;

const stackOff = ['off', '0', 'false'].includes((process.env.HOPTRACE_STACK ?? '').toLowerCase());

type Fault = 'stop' | 'kill';

describe('RabbitMQ node restarted mid-stream: nothing confirmed is lost, nothing leaks', {
  skip: stackOff && !stackRequired() && 'HOPTRACE_STACK=off',
  timeout: 600_000,
}, () => {
  let stack: PrivateStack;
  let firstStartMs = 0;
  before(async () => {
    stack = createPrivateStack('rabbitmq-restart', -13000);
    firstStartMs = await stack.start('rabbitmq');
  });
  after(() => stack?.destroy());

  it('clean stop (rabbitmqctl stop) and start', { timeout: 240_000 }, (t) =>
    restartScenario(t, stack, 'stop', firstStartMs),
  );
  it('crash (SIGKILL) and start', { timeout: 240_000 }, (t) =>
    restartScenario(t, stack, 'kill', firstStartMs),
  );
});

async function restartScenario(
  t: TestContext,
  stack: PrivateStack,
  fault: Fault,
  firstStartMs: number,
): Promise<void> {
  const url = stack.endpoints.HOPTRACE_AMQP_URL as string;
  const password = decodeURIComponent(new URL(url).password);

  const baseline = activeResources();
  const watch = watchProcess();
  t.after(() => watch.stop());
  void firstStartMs;
  const tracing = createTrackedTracing();
  const registry = createOpenMetricsRegistry();
  const logLines: string[] = [];
  const queue = uniqueName('hoptrace-test.restart');
  const common = {
    url,
    setup: async (ch: Channel) => {
      await ch.assertQueue(queue, { durable: true });
    },
    instrument: (connection: ChannelModel) =>
      instrumentAmqp(connection, { tracerProvider: tracing.provider, registry, serviceName: 'restart-test' }),
    minDelayMs: 100,
    maxDelayMs: 1000,
    log: (line: string) => logLines.push(line),
  };

  const deliveries = new Map<string, boolean[]>(); // messageId -> redelivered flag of each delivery
  let lastDeliveryAt = 0;
  const consumer = startReconnectingConsumer(common, queue, async (message) => {
    const id = String(message.properties.messageId);
    const seen = deliveries.get(id) ?? [];
    seen.push(message.fields.redelivered);
    deliveries.set(id, seen);
    lastDeliveryAt = Date.now();
    await new Promise((r) => setTimeout(r, 3));
  });
  const publisher = startReconnectingPublisher(common);

  const confirmed = new Set<string>();
  const retried = new Set<string>(); // published more than once: their first confirm was lost
  let restart: Promise<{ stopMs: number; startMs: number; consumingAgainMs: number }> | undefined;
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < TOTAL; i++) {
    const id = `m-${i}`;
    const sending = publisher
      .publish('', queue, Buffer.from(`body ${i}`), { messageId: id, persistent: true })
      .then((attempts) => {
        confirmed.add(id);
        if (attempts > 1) retried.add(id);
      })
      .finally(() => inFlight.delete(sending));
    inFlight.add(sending);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    if (!restart && confirmed.size >= RESTART_AFTER) {
      // The fault: a clean node stop (connections closed by the broker), then a start on the same data.
      restart = (async () => {
        const stopMs = fault === 'stop' ? await stack.stop('rabbitmq') : await stack.kill('rabbitmq');
        const startMs = await stack.start('rabbitmq');
        const readyAt = Date.now();
        while (lastDeliveryAt < readyAt) await settle(10);
        return { stopMs, startMs, consumingAgainMs: lastDeliveryAt - readyAt };
      })();
    }
    await new Promise((r) => setTimeout(r, PACE_MS));
  }
  await Promise.all(inFlight);
  const { stopMs, startMs, consumingAgainMs } = await restart!;

  const deadline = Date.now() + 90_000;
  while ([...confirmed].some((id) => !deliveries.has(id)) && Date.now() < deadline) await settle(50);
  await settle(500); // late duplicates would arrive here
  await consumer.close();
  await publisher.close();
  await settle(200);

  // Every confirmed message consumed; duplicates only as the broker or the publisher explain them.
  const lost = [...confirmed].filter((id) => !deliveries.has(id));
  assert.deepEqual(lost, [], 'every confirmed message was consumed');
  assert.equal(confirmed.size, TOTAL, 'the publisher got every message confirmed in the end');
  let redeliveries = 0;
  let republishedCopies = 0;
  const unexplained: string[] = [];
  for (const [id, flags] of deliveries) {
    const fresh = flags.filter((redelivered) => !redelivered).length;
    redeliveries += flags.length - fresh;
    if (fresh > 1) {
      if (retried.has(id)) republishedCopies += fresh - 1;
      else unexplained.push(`${id}: ${JSON.stringify(flags)}`);
    }
  }
  assert.deepEqual(
    unexplained,
    [],
    'no message delivered twice without redelivered set or a publisher retry',
  );
  const totalDeliveries = [...deliveries.values()].reduce((sum, flags) => sum + flags.length, 0);

  // The instrumentation left nothing behind.
  assert.deepEqual(tracing.tracker.dangling(), [], 'every span that started ended');
  assert.deepEqual(watch.unhandledRejections, [], 'no unhandled rejection');
  assert.deepEqual(watch.uncaughtExceptions, [], 'no uncaught exception');
  assert.deepEqual(watch.diagErrors, [], 'the guard swallowed no hoptrace failure');
  const after = activeResources();
  for (const type of ['Timeout', 'TCPSocketWrap', 'TCPWRAP']) {
    assert.ok(
      (after[type] ?? 0) <= (baseline[type] ?? 0),
      `no ${type} left: ${JSON.stringify({ baseline, after })}`,
    );
  }
  assert.ok(logLines.length > 0, 'the clients reported the outage');
  for (const line of logLines) {
    assert.ok(!line.includes(password) && !line.includes(url), `log line without credentials: ${line}`);
    assert.ok(line.includes(describeBroker(url)) || !line.includes('amqp://'), line);
  }

  // hoptrace's counts match what happened.
  const sent = await metricTotal(registry, METRIC_SENT_MESSAGES);
  const sentFailed = await metricTotal(registry, METRIC_SENT_MESSAGES, (labels) => labels.error_type !== '');
  const consumedTotal = await metricTotal(registry, METRIC_CONSUMED_MESSAGES);
  const spans = tracing.spans();
  const abandoned = spans.filter(
    (s) => s.name.startsWith('process ') && s.attributes['hoptrace.unsettled'] === true,
  ).length;
  assert.equal(
    sent - sentFailed,
    TOTAL,
    'one confirmed publish per message; the failed attempts are counted as errors',
  );
  assert.equal(
    consumedTotal + abandoned,
    totalDeliveries,
    'every delivery is counted once, or ended as abandoned',
  );

  const summary = {
    fault,
    firstStartMs,
    stopMs,
    startMs,
    consumingAgainMs,
    published: TOTAL,
    confirmed: confirmed.size,
    publishAttempts: sent,
    failedPublishAttempts: sentFailed,
    retriedMessages: retried.size,
    deliveries: totalDeliveries,
    redeliveries,
    republishedCopies,
    consumedCounted: consumedTotal,
    abandonedSpans: abandoned,
    spansStarted: tracing.tracker.started,
    spansEnded: tracing.tracker.ended,
    logLines: logLines.length,
  };
  t.diagnostic(JSON.stringify(summary));
}

async function metricTotal(
  registry: ReturnType<typeof createOpenMetricsRegistry>,
  name: string,
  filter: (labels: Record<string, unknown>) => boolean = () => true,
): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values.filter((v) => filter(v.labels)).reduce((sum, v) => sum + v.value, 0);
}
