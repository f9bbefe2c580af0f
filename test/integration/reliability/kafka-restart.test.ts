/**
 * Fault injection: the Kafka broker is restarted in the middle of consumption (a controlled shutdown with
 * SIGTERM, and a SIGKILL crash), on a private broker (own directory, ports +3000). An instrumented consumer
 * group reads a 3-partition topic; the lag monitor (`createKafkaLagMonitor`) watches it.
 *
 * Proves: the group resumes on its own (rejoining only if its session expired); lag returns to 0; every offset of every partition was handled
 * (none skipped; offsets processed again after the restart are counted as replays, the at-least-once
 * price of the offsets committed last); every span ended; no unhandled rejection, uncaught exception or
 * swallowed hoptrace failure; after disconnecting nothing keeps the process alive.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { METRIC_CONSUMED_MESSAGES } from '../../../instrumentation/core/semconv.js';
import { createKafkaLagMonitor, instrumentKafka } from '../../../instrumentation/kafka/index.js';
import { stackRequired } from '../../helpers/env.js';
import { uniqueName } from '../../helpers/stack.js';
import { activeResources, createTrackedTracing, settle, watchProcess } from './harness.js';
import { createPrivateStack, type PrivateStack } from './private-stack.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const PARTITIONS = 3;
const MESSAGES = 3000;
const RESTART_AFTER = 900;
const HANDLER_MS = 2;

const stackOff = ['off', '0', 'false'].includes((process.env.HOPTRACE_STACK ?? '').toLowerCase());

type Fault = 'stop' | 'kill';

describe('Kafka broker restarted mid-consumption: the group resumes, lag returns to 0, nothing skipped', {
  skip: stackOff && !stackRequired() && 'HOPTRACE_STACK=off',
  timeout: 900_000,
}, () => {
  let stack: PrivateStack;
  let firstStartMs = 0;
  before(async () => {
    stack = createPrivateStack('kafka-restart', -14000);
    firstStartMs = await stack.start('kafka');
  });
  after(() => stack?.destroy());

  it('controlled shutdown (SIGTERM) and start', { timeout: 400_000 }, (t) =>
    restartScenario(t, stack, 'stop', firstStartMs),
  );
  it('crash (SIGKILL) and start', { timeout: 400_000 }, (t) =>
    restartScenario(t, stack, 'kill', firstStartMs),
  );
});

async function restartScenario(t: TestContext, stack: PrivateStack, fault: Fault, firstStartMs: number) {
  const brokers = (stack.endpoints.HOPTRACE_KAFKA_BROKERS as string).split(',');
  const client = (clientId: string) =>
    new Kafka({
      clientId,
      brokers,
      logLevel: logLevel.NOTHING,
      retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 30 },
    });
  const topic = uniqueName('restart');
  const groupId = uniqueName('restart-group');

  // The topic and its records exist before consumption starts.
  const admin = client('setup').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  const producer = client('producer').producer();
  await producer.connect();
  for (let start = 0; start < MESSAGES; start += 500) {
    await producer.send({
      topic,
      messages: Array.from({ length: 500 }, (_, i) => ({ key: `k${start + i}`, value: `v${start + i}` })),
    });
  }
  await producer.disconnect();
  const highWatermarks = new Map(
    (await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]),
  );
  await admin.disconnect();
  assert.equal(
    [...highWatermarks.values()].reduce((a, b) => a + b, 0),
    MESSAGES,
  );

  const baseline = activeResources();
  const watch = watchProcess();
  t.after(() => watch.stop());
  const tracing = createTrackedTracing();
  const registry = createOpenMetricsRegistry();
  const kafka = instrumentKafka(client('consumer'), { tracerProvider: tracing.provider, registry });
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 100,
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 30 },
  });
  let joins = 0;
  let crashes = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => joins++);
  consumer.on(consumer.events.CRASH, () => crashes++);

  const seen = new Map<number, Map<number, number>>(); // partition -> offset -> times handled
  let handled = 0;
  let lastHandledAt = 0;
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    // Commit every second, so a restart replays at most about a second of work and the lag is visible.
    autoCommitInterval: 1000,
    eachMessage: async ({ partition, message }) => {
      await new Promise((r) => setTimeout(r, HANDLER_MS));
      const offsets = seen.get(partition) ?? new Map<number, number>();
      offsets.set(Number(message.offset), (offsets.get(Number(message.offset)) ?? 0) + 1);
      seen.set(partition, offsets);
      handled++;
      lastHandledAt = Date.now();
    },
  });

  const monitor = createKafkaLagMonitor({ brokers, groups: [groupId], intervalMs: 500, clientId: 'lag' });
  const pollErrors: string[] = [];
  const lagOf = async () => {
    try {
      const snapshot = await monitor.poll();
      for (const e of snapshot.errors) pollErrors.push(e.message);
      return snapshot.groups.find((g) => g.group === groupId);
    } catch (err) {
      pollErrors.push((err as Error).message);
      return undefined;
    }
  };

  while (handled < RESTART_AFTER) await settle(20);
  const lagBefore = (await lagOf())?.totalLag;
  const faultAt = Date.now();
  const handledAtFault = handled;
  const downMs = fault === 'stop' ? await stack.stop('kafka') : await stack.kill('kafka');
  const upMs = await stack.start('kafka');
  const readyAt = Date.now();

  // The group resumes by itself, and the lag monitor sees it catch up.
  while (lastHandledAt < readyAt && Date.now() - readyAt < 120_000) await settle(50);
  const resumedAfterMs = lastHandledAt - readyAt;
  let caughtUpAt: number | undefined;
  while (Date.now() - readyAt < 180_000) {
    const lag = await lagOf();
    const committedEverywhere =
      lag?.partitions.length === PARTITIONS &&
      lag.partitions.every((p) => p.committedOffset === p.highWatermark);
    if (lag && lag.totalLag === 0 && committedEverywhere) {
      caughtUpAt = Date.now();
      break;
    }
    await settle(500);
  }
  await consumer.disconnect();
  await monitor.close();
  await settle(300);

  assert.ok(caughtUpAt, `lag returned to 0 (poll errors: ${pollErrors.slice(-3).join('; ')})`);
  // No offset skipped: each partition's handled offsets are exactly 0..high-1.
  let replays = 0;
  for (const [partition, high] of highWatermarks) {
    const offsets = seen.get(partition) ?? new Map();
    const missing: number[] = [];
    for (let offset = 0; offset < high; offset++) if (!offsets.has(offset)) missing.push(offset);
    assert.deepEqual(
      missing.slice(0, 10),
      [],
      `partition ${partition}: no offset skipped (${missing.length} missing)`,
    );
    for (const times of offsets.values()) replays += times - 1;
  }
  assert.equal(handled, MESSAGES + replays);
  assert.ok(resumedAfterMs >= 0, 'the group consumed again after the restart');

  assert.deepEqual(tracing.tracker.dangling(), [], 'every span that started ended');
  assert.deepEqual(watch.unhandledRejections, [], 'no unhandled rejection');
  assert.deepEqual(watch.uncaughtExceptions, [], 'no uncaught exception');
  assert.deepEqual(watch.diagErrors, [], 'the guard swallowed no hoptrace failure');
  const consumed = ((await registry.getSingleMetric(METRIC_CONSUMED_MESSAGES)?.get())?.values ?? []).reduce(
    (sum, v) => sum + v.value,
    0,
  );
  assert.equal(consumed, handled, 'hoptrace counted every handled message once');
  const afterResources = activeResources();
  for (const type of ['Timeout', 'TCPSocketWrap']) {
    assert.ok(
      (afterResources[type] ?? 0) <= (baseline[type] ?? 0),
      `no ${type} left: ${JSON.stringify({ baseline, afterResources })}`,
    );
  }

  t.diagnostic(
    JSON.stringify({
      fault,
      firstStartMs,
      messages: MESSAGES,
      handledAtFault,
      lagAtFault: lagBefore,
      downMs,
      upMs,
      resumedAfterMs,
      lagZeroAfterMs: caughtUpAt - readyAt,
      outageToLagZeroMs: caughtUpAt - faultAt,
      handled,
      replays,
      joins,
      crashes,
      spansStarted: tracing.tracker.started,
      spansEnded: tracing.tracker.ended,
      monitorPollErrors: pollErrors.length,
    }),
  );
}
