/** Shared pieces of the Kafka integration tests: a fast-retrying client, unique names, waits, metric reads. */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import {
  type Consumer,
  type ConsumerConfig,
  type ConsumerRunConfig,
  Kafka,
  type KafkaConfig,
  logLevel,
} from 'kafkajs';
import type { MetricsRegistry as Registry } from '../../../instrumentation/core/metrics.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

export function brokers(): string[] {
  return stackEndpoint('HOPTRACE_KAFKA_BROKERS').split(',');
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export function rawKafka(overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: 'hoptrace-test',
    brokers: brokers(),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 50, retries: 5 },
    ...overrides,
  });
}

/** Skips (locally) or fails (CI) when Kafka is not reachable. */
export async function requireKafka(t: TestContext): Promise<boolean> {
  return requireServer(t, `Kafka at ${brokers().join(',')}`, async () => {
    const admin = rawKafka({ retry: { retries: 0 }, connectionTimeout: 2000 }).admin();
    try {
      await admin.connect();
      await admin.listTopics();
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  });
}

export async function createTopic(name: string, numPartitions = 1): Promise<void> {
  const admin = rawKafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: name, numPartitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Consumer settings that make retries, fetches and joins fast. */
export function fastConsumerConfig(groupId: string): ConsumerConfig {
  return {
    groupId,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 50,
    retry: { initialRetryTime: 50, retries: 20 },
  };
}

/** Subscribes from the beginning, runs, and resolves once the consumer has joined its group. */
export async function startConsumer(
  consumer: Consumer,
  topics: string[],
  run: ConsumerRunConfig,
): Promise<void> {
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  const joined = new Promise<void>((resolve) => {
    const remove = consumer.on(consumer.events.GROUP_JOIN, () => {
      remove();
      resolve();
    });
  });
  await consumer.run(run);
  await withTimeout(joined, 20_000, 'consumer group join');
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns true (or a value), failing with `what` after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last as NonNullable<T>;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sum of a metric's samples whose labels include `labels` (0 when there are none). */
export async function metricSum(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  return data.values
    .filter((v) =>
      Object.entries(labels).every(([k, value]) => (v.labels as Record<string, unknown>)[k] === value),
    )
    .reduce((sum, v) => sum + v.value, 0);
}

/** Disconnects everything given, ignoring failures (test cleanup). */
export async function disconnectAll(...clients: { disconnect(): Promise<void> }[]): Promise<void> {
  await Promise.allSettled(clients.map((c) => c.disconnect()));
}

/** `_count` or `_sum` of a histogram, over the samples whose labels include `labels`. */
export async function histogramValue(
  registry: Registry,
  name: string,
  part: 'count' | 'sum',
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  return data.values
    .filter((v) => (v as { metricName?: string }).metricName === `${name}_${part}`)
    .filter((v) =>
      Object.entries(labels).every(([k, value]) => (v.labels as Record<string, unknown>)[k] === value),
    )
    .reduce((sum, v) => sum + v.value, 0);
}
