/**
 * `runPubSubDemo`: the orders flow on Google Cloud Pub/Sub (by default Google's fake server, pstest), as
 * `hoptrace demo --broker pubsub` runs it. One topic `orders` with three subscriptions (billing,
 * inventory, email); email nacks every `failEvery`th order (a bouncing address), and its subscription's
 * dead-letter policy forwards the order to `orders-dl` after `maxDeliveryAttempts`, where dlq-audit reads
 * it. Each service is its own instrumented client (`serviceName`); everything is created per run and
 * deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import type { TracerProvider } from '@opentelemetry/api';
import type { MetricsRegistry } from '../../instrumentation/core/metrics.js';
import { instrumentPubSub } from '../../instrumentation/pubsub/index.js';

export interface PubSubDemoOptions {
  /** `host:port` of an emulator; undefined for the real service (credentials from the environment). */
  emulatorHost: string | undefined;
  /** Default `hoptrace-demo`. */
  projectId?: string;
  /** Orders to place; default 3. */
  orders?: number;
  /** Every nth order's email bounces and is dead-lettered; default 3. */
  failEvery?: number;
  /** The email subscription's dead-letter policy; default 5 (the real service's minimum). */
  maxDeliveryAttempts?: number;
  tracerProvider?: TracerProvider;
  /** `'link'`: each delivery starts its own trace, linked to the publish (`hoptrace demo --link`). */
  linkMode?: 'parent' | 'link';
  registry?: MetricsRegistry;
  /** Default 20 000 ms. */
  timeoutMs?: number;
}

export type PubSubWorker = 'billing' | 'inventory' | 'email' | 'dlq-audit';

export interface PubSubDemoResult {
  topic: string;
  deadLetterTopic: string;
  correlationIds: string[];
  /** Orders each worker acked (dlq-audit: distinct dead letters). */
  handled: Record<PubSubWorker, number>;
  /** Nacks by the email service. */
  nacks: number;
  /** Dead-lettered orders (correlation ID -> the delivery attempt of the last nack). */
  deadLetters: Map<string, number>;
}

export async function runPubSubDemo(options: PubSubDemoOptions): Promise<PubSubDemoResult> {
  const { PubSub } = await import('@google-cloud/pubsub');
  const orders = options.orders ?? 3;
  const failEvery = options.failEvery ?? 3;
  const projectId = options.projectId ?? 'hoptrace-demo';
  if (options.emulatorHost) process.env.METADATA_SERVER_DETECTION ??= 'none';
  const client = (): PubSub =>
    options.emulatorHost
      ? new PubSub({ projectId, apiEndpoint: options.emulatorHost, emulatorMode: true })
      : new PubSub({ projectId });
  const run = randomBytes(3).toString('hex');
  const name = (n: string) => `hoptrace-demo-${run}-${n}`;
  const traced = (serviceName: string, raw: PubSub) =>
    instrumentPubSub(raw, {
      serviceName,
      tracerProvider: options.tracerProvider,
      linkMode: options.linkMode,
      registry: options.registry,
    });

  const admin = client();
  const raw = client();
  const [topic] = await admin.createTopic(name('orders'));
  const [deadLetterTopic] = await admin.createTopic(name('orders-dl'));
  const subscriptions = {
    billing: name('billing'),
    inventory: name('inventory'),
    email: name('email'),
    'dlq-audit': name('email-dl'),
  } as const;
  await admin.createSubscription(deadLetterTopic, subscriptions['dlq-audit']);
  await admin.createSubscription(topic, subscriptions.billing);
  await admin.createSubscription(topic, subscriptions.inventory);
  await admin.createSubscription(topic, subscriptions.email, {
    deadLetterPolicy: {
      deadLetterTopic: deadLetterTopic.name,
      maxDeliveryAttempts: options.maxDeliveryAttempts ?? 5,
    },
  });

  const handled: Record<PubSubWorker, number> = { billing: 0, inventory: 0, email: 0, 'dlq-audit': 0 };
  const deadLetters = new Map<string, number>();
  let nacks = 0;
  const open: Subscription[] = [];
  const listen = (worker: PubSubWorker, handler: (message: Message) => void) => {
    const sub = traced(worker, raw).subscription(subscriptions[worker]);
    sub.on('message', handler);
    sub.on('error', (err) => console.error(`${worker}: ${err.message}`));
    open.push(sub);
  };
  listen('billing', (m) => {
    m.ack();
    handled.billing++;
  });
  listen('inventory', (m) => {
    m.ack();
    handled.inventory++;
  });
  listen('email', (m) => {
    const order = JSON.parse(m.data.toString()) as { email: string };
    if (order.email.endsWith('.invalid')) {
      nacks++;
      m.nack();
      return;
    }
    m.ack();
    handled.email++;
  });
  const seenDead = new Set<string>();
  listen('dlq-audit', (m) => {
    m.ack();
    // pstest forwards a dead letter repeatedly (docs/pubsub.md): audit each order once.
    const id = m.attributes['x-correlation-id'] ?? m.id;
    if (seenDead.has(id)) return;
    seenDead.add(id);
    deadLetters.set(id, m.deliveryAttempt);
    handled['dlq-audit']++;
  });

  try {
    const storefront = traced('storefront', raw).topic(topic.name);
    const correlationIds: string[] = [];
    for (let n = 1; n <= orders; n++) {
      const correlationId = `order-${run}-${n}`;
      const order = {
        orderId: `${run}-${n}`,
        amountCents: 1999 * (1 + (n % 3)),
        email: n % failEvery === 0 ? `customer${n}@example.invalid` : `customer${n}@example.com`,
      };
      await storefront.publishMessage({
        data: Buffer.from(JSON.stringify(order)),
        attributes: { 'x-correlation-id': correlationId, kind: 'order.placed' },
      });
      correlationIds.push(correlationId);
    }
    const failing = Math.floor(orders / failEvery);
    const done = () =>
      handled.billing === orders &&
      handled.inventory === orders &&
      handled.email === orders - failing &&
      handled['dlq-audit'] === failing;
    const deadline = Date.now() + (options.timeoutMs ?? 20_000);
    while (!done()) {
      if (Date.now() > deadline)
        throw new Error(`demo timed out waiting for deliveries: ${JSON.stringify(handled)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      topic: topic.name,
      deadLetterTopic: deadLetterTopic.name,
      correlationIds,
      handled,
      nacks,
      deadLetters,
    };
  } finally {
    // The email subscription first: pstest keeps forwarding its dead letters until it is gone.
    await admin
      .subscription(subscriptions.email)
      .delete()
      .catch(() => undefined);
    for (const sub of open.reverse()) await sub.close().catch(() => undefined);
    for (const sub of Object.values(subscriptions))
      await admin
        .subscription(sub)
        .delete()
        .catch(() => undefined);
    await admin
      .topic(topic.name)
      .delete()
      .catch(() => undefined);
    await admin
      .topic(deadLetterTopic.name)
      .delete()
      .catch(() => undefined);
    await raw.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}

/** A few lines for the terminal. */
export function formatPubSubDemoSummary(result: PubSubDemoResult): string {
  const short = (n: string) => n.slice(n.lastIndexOf('/') + 1);
  const lines = [
    `Placed ${result.correlationIds.length} orders on Pub/Sub topic ${short(result.topic)} (3 subscriptions).`,
    `  billing: ${result.handled.billing} acked; inventory: ${result.handled.inventory} acked`,
    `  email: ${result.handled.email} acked, ${result.nacks} nacks, ${result.deadLetters.size} dead-lettered to ${short(result.deadLetterTopic)}`,
  ];
  for (const [correlationId] of result.deadLetters)
    lines.push(`  dead letter ${correlationId}: reason delivery_limit`);
  return lines.join('\n');
}
