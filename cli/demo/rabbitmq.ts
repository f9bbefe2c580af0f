/**
 * `runRabbitDemo`: the orders flow on a real RabbitMQ, as `hoptrace demo --broker rabbitmq` runs it.
 * Starts the four workers and the storefront, places `orders` orders (every `failEvery`th with a
 * bouncing address, which the email service rejects into the DLQ), waits until every delivery was
 * handled, closes everything and returns what happened.
 */
import { randomBytes } from 'node:crypto';
import type { TracerProvider } from '@opentelemetry/api';
import amqplib from 'amqplib';
import type { MetricsRegistry } from '../../instrumentation/core/metrics.js';
import {
  type Order,
  type Service,
  startStorefront,
  startWorker,
  type WorkerEvent,
  type WorkerName,
} from './rabbitmq-services.js';
import { type DemoTopology, declareTopology, demoTopology, purgeTopology } from './rabbitmq-topology.js';

export interface RabbitDemoOptions {
  /** AMQP URL, e.g. amqp://guest:guest@127.0.0.1:35672. */
  url: string;
  /** Orders to place; default 3. */
  orders?: number;
  /** Every nth order's email bounces and ends in the DLQ; default 3. */
  failEvery?: number;
  /** Prefix of the exchange and queue names; default `hoptrace-demo`. */
  prefix?: string;
  /** Default: the global tracer provider. */
  tracerProvider?: TracerProvider;
  /** `'link'`: each delivery starts its own trace, linked to the publish (`hoptrace demo --link`). */
  linkMode?: 'parent' | 'link';
  /** Default: hoptrace's `metricsRegistry`. */
  registry?: MetricsRegistry;
  /** Give up waiting for the deliveries after this long; default 15 000 ms. */
  timeoutMs?: number;
}

export interface RabbitDemoResult {
  topology: DemoTopology;
  /** One per order, in order. */
  correlationIds: string[];
  /** Messages each worker handled. */
  handled: Record<WorkerName, number>;
  /** Orders the DLQ consumer saw, by correlation ID. */
  deadLetters: Map<string, { orderId: string; reason: string; source: string | undefined }>;
}

export async function runRabbitDemo(options: RabbitDemoOptions): Promise<RabbitDemoResult> {
  const orders = options.orders ?? 3;
  const failEvery = options.failEvery ?? 3;
  const topology = demoTopology(options.prefix);
  const serviceOptions = {
    url: options.url,
    topology,
    tracerProvider: options.tracerProvider,
    linkMode: options.linkMode,
    registry: options.registry,
  };

  // Set up and clean the queues on a plain connection: not part of the traced flow.
  const admin = await amqplib.connect(options.url);
  try {
    const ch = await admin.createChannel();
    await declareTopology(ch, topology);
    await purgeTopology(ch, topology);
  } finally {
    await admin.close();
  }

  const handled: Record<WorkerName, number> = {
    billing: 0,
    shipping: 0,
    inventory: 0,
    email: 0,
    'dlq-audit': 0,
  };
  const deadLetters: RabbitDemoResult['deadLetters'] = new Map();
  let wake: () => void = () => {};
  const onEvent = (event: WorkerEvent) => {
    handled[event.worker]++;
    if (event.deadLetter && event.correlationId) {
      deadLetters.set(event.correlationId, { orderId: event.order.orderId, ...event.deadLetter });
    }
    wake();
  };

  const services: Service[] = [];
  try {
    for (const worker of ['billing', 'shipping', 'inventory', 'email', 'dlq-audit'] as const) {
      services.push(await startWorker(worker, serviceOptions, onEvent));
    }
    const storefront = await startStorefront(serviceOptions);
    services.push(storefront);

    const run = randomBytes(2).toString('hex');
    const correlationIds: string[] = [];
    for (let n = 1; n <= orders; n++) {
      const orderId = `${run}-${n}`;
      const order: Order = {
        orderId,
        sku: `SKU-${100 + (n % 7)}`,
        quantity: 1 + (n % 3),
        amountCents: 1999 * (1 + (n % 3)),
        email: n % failEvery === 0 ? `customer${n}@example.invalid` : `customer${n}@example.com`,
      };
      const correlationId = `order-${orderId}`;
      await storefront.placeOrder(order, correlationId);
      correlationIds.push(correlationId);
    }

    const failing = Math.floor(orders / failEvery);
    const done = () =>
      handled.billing === orders &&
      handled.shipping === orders &&
      handled.inventory === orders &&
      handled.email === orders &&
      handled['dlq-audit'] === failing;
    const deadline = Date.now() + (options.timeoutMs ?? 15_000);
    while (!done()) {
      if (Date.now() > deadline) {
        throw new Error(`demo timed out waiting for deliveries: ${JSON.stringify(handled)}`);
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100).unref();
      });
    }
    return { topology, correlationIds, handled, deadLetters };
  } finally {
    for (const service of services.reverse()) await service.close().catch(() => undefined);
  }
}

/** A few lines for the terminal. */
export function formatRabbitDemoSummary(result: RabbitDemoResult): string {
  const t = result.topology;
  const lines = [
    `Placed ${result.correlationIds.length} orders on RabbitMQ exchange ${t.exchange} (topic).`,
    `  ${t.billing}: ${result.handled.billing} acked (each published payment.processed)`,
    `  ${t.shipping}: ${result.handled.shipping} acked`,
    `  ${t.inventory}: ${result.handled.inventory} acked`,
    `  ${t.email}: ${result.handled.email} handled, ${result.deadLetters.size} rejected into ${t.emailDeadLetters}`,
    `  ${t.emailDeadLetters}: ${result.handled['dlq-audit']} audited`,
  ];
  for (const [correlationId, dead] of result.deadLetters) {
    lines.push(`  dead letter ${correlationId}: reason ${dead.reason}, from ${dead.source ?? '?'}`);
  }
  return lines.join('\n');
}
