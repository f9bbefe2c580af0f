/**
 * The Kafka demo scenario, the same orders flow as the bus and RabbitMQ demos, each service its own
 * instrumented client and service name:
 *
 *   storefront --> <orders> --> billing --> <payments> --> shipping
 *                           \-> inventory
 *                           \-> email (fails for every 3rd order: 3 attempts, then hoptrace
 *                                       dead-letters it to <orders>.dlq) --> dlq-audit
 *
 * `hoptrace demo --broker kafka` runs it; run this file directly to try it against
 * HOPTRACE_KAFKA_BROKERS (default 127.0.0.1:39092).
 */
import { randomBytes } from 'node:crypto';
import type { TracerProvider } from '@opentelemetry/api';
import { Kafka, logLevel } from 'kafkajs';
import { withCorrelationId } from '../../instrumentation/core/correlation.js';
import type { MetricsRegistry } from '../../instrumentation/core/metrics.js';
import { createKafkaLagMonitor, type GroupLag, instrumentKafka } from '../../instrumentation/kafka/index.js';

export interface KafkaDemoOptions {
  brokers: string[];
  /** Orders to produce; default 10. Every 3rd order's email bounces (dead-lettered). */
  messages?: number;
  /** Orders topic; default `hoptrace-demo-orders-<random>` so runs do not mix. */
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

type Worker = 'billing' | 'inventory' | 'email' | 'shipping' | 'dlq-audit';

export interface KafkaDemoSummary {
  topic: string;
  paymentsTopic: string;
  deadLetterTopic: string;
  /** Consumer group of each service. */
  groups: Record<Worker, string>;
  produced: number;
  /** Messages each service handled successfully. */
  processed: Record<Worker, number>;
  /** Orders whose email was dead-lettered (their correlation IDs). */
  deadLettered: string[];
  /** Correlation IDs of every order, in production order. */
  correlationIds: string[];
  /** Lag of the demo's groups once everything settled (0 everywhere when the demo worked). */
  lag: GroupLag[];
}

export async function runKafkaDemo(options: KafkaDemoOptions): Promise<KafkaDemoSummary> {
  const count = options.messages ?? 10;
  const log = options.log ?? (() => undefined);
  const suffix = randomBytes(4).toString('hex');
  const topic = options.topic ?? `hoptrace-demo-orders-${suffix}`;
  const paymentsTopic = `${topic}.payments`;
  const deadLetterTopic = `${topic}.dlq`;
  const workers: Worker[] = ['billing', 'inventory', 'email', 'shipping', 'dlq-audit'];
  const groups = Object.fromEntries(workers.map((w) => [w, `${w}-${suffix}`])) as Record<Worker, string>;
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
  const toCreate = [topic, paymentsTopic, deadLetterTopic].filter((t) => !existing.has(t));
  if (toCreate.length > 0) {
    await admin.createTopics({
      topics: toCreate.map((t) => ({ topic: t, numPartitions: 2 })),
      waitForLeaders: true,
    });
  }

  const processed: Record<Worker, number> = {
    billing: 0,
    inventory: 0,
    email: 0,
    shipping: 0,
    'dlq-audit': 0,
  };
  const deadLettered: string[] = [];
  const consumerConfig = (groupId: string) => ({
    groupId,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 100,
    retry: { initialRetryTime: 100, retries: 10 },
  });
  const consumers = Object.fromEntries(
    workers.map((w) => [w, kafkaFor(w).consumer(consumerConfig(groups[w]))]),
  ) as Record<Worker, ReturnType<ReturnType<typeof kafkaFor>['consumer']>>;
  const producer = kafkaFor('storefront').producer();
  const billingProducer = kafkaFor('billing').producer();
  const clients = [...Object.values(consumers), producer, billingProducer];

  try {
    const start = async (
      worker: Worker,
      subscribeTo: string,
      handler: (value: Order, headers: Record<string, unknown>) => Promise<void>,
    ) => {
      const consumer = consumers[worker];
      await consumer.connect();
      await consumer.subscribe({ topics: [subscribeTo], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          await handler(
            JSON.parse(String(message.value)) as Order,
            (message.headers ?? {}) as Record<string, unknown>,
          );
          processed[worker] += 1;
        },
      });
    };
    await billingProducer.connect();
    await Promise.all([
      start('billing', topic, async (order) => {
        // Produced inside the handler: a child of billing's delivery, in the order's flow.
        await billingProducer.send({
          topic: paymentsTopic,
          messages: [
            { key: String(order.id), value: JSON.stringify({ id: order.id, amount: order.amount }) },
          ],
        });
        log(`billing: charged order ${order.id} (${order.amount})`);
      }),
      start('inventory', topic, async () => undefined),
      start('email', topic, async (order) => {
        if (order.bounces) throw new Error(`mailbox of order ${order.id} does not exist`);
      }),
      start('shipping', paymentsTopic, async () => undefined),
      start('dlq-audit', deadLetterTopic, async (order, headers) => {
        deadLettered.push(String(headers['x-correlation-id']));
        log(
          `dlq-audit: order ${order.id} dead-lettered (${String(headers['x-hoptrace-dead-letter-error'])})`,
        );
      }),
    ]);

    await producer.connect();
    const correlationIds: string[] = [];
    for (let n = 1; n <= count; n++) {
      const order: Order = { id: n, amount: 100 + n, bounces: n % 3 === 0 };
      const correlationId = `order-${suffix}-${n}`;
      correlationIds.push(correlationId);
      await withCorrelationId(correlationId, () =>
        producer.send({ topic, messages: [{ key: String(order.id), value: JSON.stringify(order) }] }),
      );
    }
    const expectedDead = Math.floor(count / 3);
    log(`produced ${count} orders to ${topic}; ${expectedDead} emails will bounce`);

    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    while (
      processed.billing < count ||
      processed.inventory < count ||
      processed.shipping < count ||
      processed.email < count - expectedDead ||
      deadLettered.length < expectedDead
    ) {
      if (Date.now() > deadline)
        throw new Error(`the Kafka demo did not finish in time: ${JSON.stringify(processed)}`);
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
      paymentsTopic,
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
  /** The email service cannot deliver this order's confirmation. */
  bounces: boolean;
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
