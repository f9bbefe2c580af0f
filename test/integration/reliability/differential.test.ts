/**
 * Differential tests: one scripted scenario run without hoptrace and with it must look the same to the
 * application: the same deliveries in the same order, the same ack/nack/reject calls, the same handler
 * errors (same messages, same order, reported the same way), the same dead letters, the same broker state
 * at the end. And the instrumented run's own records must add up to what really happened.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { type Consumer, type Kafka, type LogEntry, logLevel } from 'kafkajs';
import { Bus } from '../../../instrumentation/bus/index.js';
import type { BusMessage } from '../../../instrumentation/bus/types.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { METRIC_CONSUMED_MESSAGES } from '../../../instrumentation/core/semconv.js';
import { instrumentKafka } from '../../../instrumentation/kafka/index.js';
import { requireServer } from '../../helpers/env.js';
import { createTestTracing } from '../../helpers/tracing.js';
import {
  createTopic,
  disconnectAll,
  fastConsumerConfig,
  rawKafka,
  requireKafka,
  startConsumer,
  uniqueName,
} from '../kafka/kafka-helpers.js';
import { amqpUrl, unique } from '../rabbitmq/helpers.js';
import type { Observation } from './fixtures/rabbitmq-scenario.js';

const run = promisify(execFile);

async function rabbitScenario(mode: 'raw' | 'hoptrace'): Promise<Observation> {
  const script = join(import.meta.dirname, 'fixtures', 'rabbitmq-scenario.js');
  const prefix = unique(`diff-${mode}`);
  const { stdout } = await run(process.execPath, [script, mode, amqpUrl(), prefix], { timeout: 60_000 });
  return JSON.parse(stdout) as Observation;
}

test('RabbitMQ: the scripted scenario is identical with and without hoptrace', {
  timeout: 120_000,
}, async (t) => {
  if (
    !(await requireServer(t, 'RabbitMQ', () =>
      import('amqplib').then((m) => m.default.connect(amqpUrl())).then((c) => c.close()),
    ))
  )
    return;
  const raw = await rabbitScenario('raw');
  const traced = await rabbitScenario('hoptrace');
  const { spans, consumed, sent, ...seenByApp } = traced;

  assert.deepEqual(seenByApp, raw, 'the application sees the same run');
  // The scenario really exercised every path.
  assert.equal(raw.deliveries.length, 63);
  assert.deepEqual(raw.calls, { ack: 28, nack: 21, reject: 14 });
  assert.equal(raw.errors.filter((e) => e.via === 'handler-error').length, 7);
  assert.equal(raw.errors.filter((e) => e.via === 'unhandledRejection').length, 7);
  assert.equal(raw.deadLetters.length, 21);
  assert.deepEqual(raw.left, { queue: 0, deadLetters: 0 });

  // hoptrace's records add up to the calls the application made.
  assert.equal(sent, 49);
  assert.equal(spans?.length, raw.deliveries.length, 'one process span per delivery');
  assert.deepEqual(consumed, { 'ack/-': 28, 'requeue/-': 14, 'dead_letter/-': 21 });
  assert.equal(
    spans?.filter((s) => s.errorType === 'ScenarioError').length,
    14,
    'handler errors recorded on their spans',
  );
  t.diagnostic(
    `deliveries ${raw.deliveries.length}, calls ${JSON.stringify(raw.calls)}, errors ${raw.errors.length}, dead letters ${raw.deadLetters.length}`,
  );
});

// --- Kafka

type KafkaAction = 'ok' | 'throw-once' | 'ok-async' | 'throw-twice';
// Failures are kept rare enough that kafkajs's retrier (whose count never resets while the consumer runs)
// is not exhausted: exhausting it restarts the consumer from the last commit, which replays messages.
const KAFKA_ACTIONS: KafkaAction[] = [
  'ok',
  'throw-once',
  'ok-async',
  'ok',
  'ok',
  'ok',
  'ok',
  'ok',
  'ok',
  'throw-twice',
];
const KAFKA_MESSAGES = 25;

interface KafkaObservation {
  invocations: { offset: string; attempt: number }[];
  errorLogs: { message: string; offset: unknown; error: string }[];
  committed: string[];
}

async function kafkaScenario(
  mode: 'raw' | 'hoptrace',
): Promise<KafkaObservation & { consumed?: Record<string, number> }> {
  const errorLogs: KafkaObservation['errorLogs'] = [];
  const logCreator = () => (entry: LogEntry) => {
    const log = entry.log as { message: string; offset?: unknown; error?: unknown };
    if (entry.level === logLevel.ERROR && String(log.error).includes('ScenarioError'))
      errorLogs.push({ message: log.message, offset: log.offset, error: String(log.error) });
  };
  const client = rawKafka({ logLevel: logLevel.ERROR, logCreator });
  const registry = createOpenMetricsRegistry();
  const tracing = createTestTracing();
  const kafka: Kafka =
    mode === 'hoptrace' ? instrumentKafka(client, { tracerProvider: tracing.provider, registry }) : client;
  const topic = uniqueName(`diff-${mode}`);
  const groupId = uniqueName(`diff-${mode}`);
  await createTopic(topic);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: KAFKA_MESSAGES }, (_, i) => ({
      key: String(i),
      value: KAFKA_ACTIONS[i % KAFKA_ACTIONS.length],
    })),
  });

  const invocations: KafkaObservation['invocations'] = [];
  const attempts = new Map<string, number>();
  let done = 0;
  const consumer: Consumer = kafka.consumer({
    ...fastConsumerConfig(groupId),
    retry: { initialRetryTime: 20, maxRetryTime: 100, retries: 50 },
  });
  await startConsumer(consumer, [topic], {
    eachMessage: async ({ message }) => {
      const attempt = (attempts.get(message.offset) ?? 0) + 1;
      attempts.set(message.offset, attempt);
      invocations.push({ offset: message.offset, attempt });
      const action = String(message.value) as KafkaAction;
      if (action === 'throw-once' && attempt < 2) throw new ScenarioError(`fails once at ${message.offset}`);
      if (action === 'throw-twice' && attempt < 3)
        throw new ScenarioError(`fails twice at ${message.offset}`);
      if (action === 'ok-async') await new Promise((r) => setTimeout(r, 2));
      done++;
    },
  });
  const deadline = Date.now() + 30_000;
  while (done < KAFKA_MESSAGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300)); // a stray extra delivery would show up here
  await disconnectAll(consumer, producer);

  const admin = client.admin();
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  const committed = offsets.flatMap((o) => o.partitions.map((p) => p.offset));

  const observation: KafkaObservation & { consumed?: Record<string, number> } = {
    invocations,
    errorLogs,
    committed,
  };
  if (mode === 'hoptrace') {
    const consumedMetric: Record<string, number> = {};
    for (const v of (await registry.getSingleMetric(METRIC_CONSUMED_MESSAGES)?.get())?.values ?? []) {
      const key = `${v.labels.hoptrace_outcome}/${v.labels.error_type || '-'}`;
      consumedMetric[key] = (consumedMetric[key] ?? 0) + v.value;
    }
    observation.consumed = consumedMetric;
  }
  return observation;
}

class ScenarioError extends Error {
  override name = 'ScenarioError';
}

test('Kafka: the scripted scenario is identical with and without hoptrace', {
  timeout: 120_000,
}, async (t) => {
  if (!(await requireKafka(t))) return;
  const raw = await kafkaScenario('raw');
  const { consumed, ...traced } = await kafkaScenario('hoptrace');

  assert.deepEqual(traced, raw, 'same invocations, same error logs, same committed offset');
  const failures = 3 * 1 + 2 * 2; // throw-once at offsets 1, 11, 21; throw-twice at 9, 19
  assert.equal(raw.invocations.length, KAFKA_MESSAGES + failures);
  assert.equal(raw.errorLogs.length, failures, 'kafkajs logged each handler error once');
  assert.deepEqual(raw.committed, [String(KAFKA_MESSAGES)], 'every offset committed');
  assert.deepEqual(consumed, { 'ack/-': KAFKA_MESSAGES, 'retry/ScenarioError': failures });
  t.diagnostic(`invocations ${raw.invocations.length}, handler errors ${raw.errorLogs.length}`);
});

// --- bus vs a plain in-process reference

type BusAction = 'ok' | 'fail-once' | 'fail-always' | 'fail-twice';
const BUS_ACTIONS: BusAction[] = ['ok', 'fail-once', 'fail-always', 'ok', 'fail-twice'];
const MAX_ATTEMPTS = 3;

interface BusObservation {
  calls: string[];
  errors: string[];
  deadLetters: string[];
}

function fails(action: BusAction, attempt: number): boolean {
  return (
    action === 'fail-always' ||
    (action === 'fail-once' && attempt < 2) ||
    (action === 'fail-twice' && attempt < 3)
  );
}

/** What an untraced, sequential in-process queue with the same retry policy does. */
function referenceRun(messages: number): BusObservation {
  const observed: BusObservation = { calls: [], errors: [], deadLetters: [] };
  for (let id = 0; id < messages; id++) {
    const action = BUS_ACTIONS[id % BUS_ACTIONS.length] as BusAction;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      observed.calls.push(`${id}#${attempt}`);
      if (!fails(action, attempt)) break;
      observed.errors.push(`${id}#${attempt} willRetry=${attempt < MAX_ATTEMPTS}`);
      if (attempt === MAX_ATTEMPTS) observed.deadLetters.push(`${id} attempts=${attempt}`);
    }
  }
  return observed;
}

async function busRun(
  messages: number,
  traced: boolean,
): Promise<BusObservation & { consumed?: Record<string, number> }> {
  const observed: BusObservation = { calls: [], errors: [], deadLetters: [] };
  const registry = createOpenMetricsRegistry();
  const tracing = createTestTracing();
  const bus = new Bus({
    name: 'diff',
    ...(traced ? { tracerProvider: tracing.provider, registry } : {}),
    onError: (_error, info) =>
      observed.errors.push(
        `${(info.message as BusMessage<number>).payload}#${info.attempt} willRetry=${info.willRetry}`,
      ),
  });
  bus.subscribe<number>(
    'work',
    (message) => {
      observed.calls.push(`${message.payload}#${message.attempt}`);
      if (fails(BUS_ACTIONS[message.payload % BUS_ACTIONS.length] as BusAction, message.attempt))
        throw new ScenarioError(`failure of ${message.payload}`);
    },
    { maxAttempts: MAX_ATTEMPTS, backoff: { initialMs: 1, factor: 1 } },
  );
  bus.subscribe<number>('work.dlq', (message) => {
    observed.deadLetters.push(
      `${message.payload} attempts=${message.headers['x-hoptrace-dead-letter-attempts']}`,
    );
  });
  for (let id = 0; id < messages; id++) await bus.publish('work', id);
  await bus.close();
  if (!traced) return observed;
  const consumed: Record<string, number> = {};
  for (const v of (await registry.getSingleMetric(METRIC_CONSUMED_MESSAGES)?.get())?.values ?? []) {
    const key = `${v.labels.messaging_destination_name}:${v.labels.hoptrace_outcome}`;
    consumed[key] = (consumed[key] ?? 0) + v.value;
  }
  return { ...observed, consumed };
}

test('bus: traced, untraced and a plain reference queue behave the same', async () => {
  const messages = 50;
  const reference = referenceRun(messages);
  const untraced = await busRun(messages, false);
  const { consumed, ...traced } = await busRun(messages, true);
  assert.deepEqual(untraced, reference);
  assert.deepEqual(traced, reference);
  assert.deepEqual(consumed, {
    'work:ack': 40,
    'work:retry': 10 * 2 + 10 + 10 * 2,
    'work:dead_letter': 10,
    'work.dlq:ack': 10,
  });
});
