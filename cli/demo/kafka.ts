/**
 * The Kafka demo scenario: an order producer and two consumer groups on one topic. `billing` handles
 * every order; `fraud-check` rejects large orders, which hoptrace dead-letters to `<topic>.dlq` after 3
 * attempts, where a third group reads them (still in the order's trace). `hoptrace demo --broker kafka`
 * runs it; run this file directly to try it against HOPTRACE_KAFKA_BROKERS (default 127.0.0.1:39092).
 */
import { randomBytes } from 'node:crypto';
import type { TracerProvider } from '@opentelemetry/api';
import { Kafka, logLevel } from 'kafkajs';
import { withCorrelationId } from '../../instrumentation/core/correlation.js';
import type { MetricsRegistry } from '../../instrumentation/core/metrics.js';
import { createKafkaLagMonitor, type GroupLag, instrumentKafka } from '../../instrumentation/kafka/index.js';

export interface KafkaDemoOptions {
  brokers: string[];
  /** Orders to produce; default 10. Every 4th order (amount >= 900) fails the fraud check. */
  messages?: number;
  /** Topic name; default `hoptrace-demo-orders-<random>` so runs do not mix. */
  topic?: string;
  tracerProvider?: TracerProvider;
  /** `'link'`: each delivery starts its own trace, linked to the publish (`hoptrace demo --link`). */
  linkMode?: 'parent' | 'link';
  registry?: MetricsRegistry;
  /** Progress lines; default silent. */
  log?: (line: string) => void;
  /** Give up waiting after this long; default 60000 ms. */
  timeoutMs?: number;
}

export interface KafkaDemoSummary {
  topic: string;
  deadLetterTopic: string;
  groups: { billing: string; fraudCheck: string; deadLetterReader: string };
  produced: number;
  processed: { billing: number; fraudCheck: number };
  /** Orders that fraud-check dead-lettered (their correlation IDs). */
  deadLettered: string[];
  /** Correlation IDs of every order, in production order. */
  correlationIds: string[];
  /** Lag of the demo's groups once everything settled (0 everywhere when the demo worked). */
  lag: GroupLag[];
}

const FRAUD_LIMIT = 900;

export async function runKafkaDemo(options: KafkaDemoOptions): Promise<KafkaDemoSummary> {
  const count = options.messages ?? 10;
  const log = options.log ?? (() => undefined);
  const suffix = randomBytes(4).toString('hex');
  const topic = options.topic ?? `hoptrace-demo-orders-${suffix}`;
  const deadLetterTopic = `${topic}.dlq`;
  const groups = {
    billing: `billing-${suffix}`,
    fraudCheck: `fraud-check-${suffix}`,
    deadLetterReader: `fraud-review-${suffix}`,
  };
  const raw = new Kafka({
    clientId: 'hoptrace-demo',
    brokers: options.brokers,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 5 },
  });
  // One wrapper per service, as separate services would have: each span carries its own service name.
  const kafkaFor = (serviceName: string) =>
    instrumentKafka(raw, {
      serviceName,
      tracerProvider: options.tracerProvider,
      linkMode: options.linkMode,
      registry: options.registry,
      deadLetter: { maxAttempts: 3 },
    });

  const admin = raw.admin();
  await admin.connect();
  const existing = new Set(await admin.listTopics());
  const toCreate = [topic, deadLetterTopic].filter((t) => !existing.has(t));
  if (toCreate.length > 0) {
    await admin.createTopics({
      topics: toCreate.map((t) => ({ topic: t, numPartitions: 2 })),
      waitForLeaders: true,
    });
  }

  const processed = { billing: 0, fraudCheck: 0 };
  const deadLettered: string[] = [];
  const consumerConfig = (groupId: string) => ({
    groupId,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 100,
    retry: { initialRetryTime: 100, retries: 10 },
  });
  const billing = kafkaFor('billing').consumer(consumerConfig(groups.billing));
  const fraudCheck = kafkaFor('fraud-check').consumer(consumerConfig(groups.fraudCheck));
  const review = kafkaFor('fraud-review').consumer(consumerConfig(groups.deadLetterReader));
  const producer = kafkaFor('storefront').producer();
  const clients = [billing, fraudCheck, review, producer];

  try {
    const start = async (
      consumer: typeof billing,
      subscribeTo: string,
      handler: (value: Order, headers: Record<string, unknown>) => Promise<void>,
    ) => {
      await consumer.connect();
      await consumer.subscribe({ topics: [subscribeTo], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) =>
          handler(
            JSON.parse(String(message.value)) as Order,
            (message.headers ?? {}) as Record<string, unknown>,
          ),
      });
    };
    await start(billing, topic, async (order) => {
      processed.billing += 1;
      log(`billing: charged order ${order.id} (${order.amount})`);
    });
    await start(fraudCheck, topic, async (order) => {
      if (order.amount >= FRAUD_LIMIT) throw new Error(`amount ${order.amount} needs manual review`);
      processed.fraudCheck += 1;
    });
    await start(review, deadLetterTopic, async (order, headers) => {
      deadLettered.push(String(headers['x-correlation-id']));
      log(
        `fraud-review: order ${order.id} dead-lettered (${String(headers['x-hoptrace-dead-letter-error'])})`,
      );
    });

    await producer.connect();
    const correlationIds: string[] = [];
    for (let i = 0; i < count; i++) {
      const order: Order = { id: i + 1, amount: i % 4 === 3 ? FRAUD_LIMIT + i : 100 + i };
      const correlationId = `order-${suffix}-${order.id}`;
      correlationIds.push(correlationId);
      await withCorrelationId(correlationId, () =>
        producer.send({ topic, messages: [{ key: String(order.id), value: JSON.stringify(order) }] }),
      );
    }
    const expectedDead = correlationIds.filter((_, i) => i % 4 === 3).length;
    log(`produced ${count} orders to ${topic}; ${expectedDead} will fail the fraud check`);

    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    while (
      processed.billing < count ||
      processed.fraudCheck < count - expectedDead ||
      deadLettered.length < expectedDead
    ) {
      if (Date.now() > deadline) throw new Error('the Kafka demo did not finish in time');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Let the last commits land, then read the groups' lag (0 everywhere when all went through).
    const monitor = createKafkaLagMonitor({ kafka: raw, groups: Object.values(groups), windowMs: 1 });
    let lag: GroupLag[] = [];
    try {
      while (Date.now() <= deadline) {
        lag = (await monitor.poll()).groups;
        if (lag.every((g) => g.partitions.length > 0 && g.totalLag === 0)) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      await monitor.close();
    }
    return {
      topic,
      deadLetterTopic,
      groups,
      produced: count,
      processed,
      deadLettered: deadLettered.sort(),
      correlationIds,
      lag,
    };
  } finally {
    await Promise.allSettled(clients.map((c) => c.disconnect()));
    await admin.disconnect();
  }
}

interface Order {
  id: number;
  amount: number;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  const brokers = (process.env.HOPTRACE_KAFKA_BROKERS ?? '127.0.0.1:39092').split(',');
  runKafkaDemo({ brokers, log: console.log }).then(
    (summary) => console.log(JSON.stringify(summary, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
