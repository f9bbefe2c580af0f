/**
 * The BullMQ demo scenario: `checkout` adds an order job; `billing` charges it, then adds a
 * confirmation email job (3 attempts, exponential backoff) and a shipping flow: a `ship-order`
 * parent job waiting for one `pick-item` child per item. `mailer` fails the email of every 3rd order,
 * which ends in the failed set after its retries; `warehouse` picks the items, and `shipping` ships
 * the order after its children. Every job of one order is one trace and one correlation ID.
 * `hoptrace demo --broker bullmq` runs it against HOPTRACE_REDIS_URL (default redis://127.0.0.1:36379).
 */
import { randomBytes } from 'node:crypto';
import type { TracerProvider } from '@opentelemetry/api';
import { FlowProducer, type Job, Queue, Worker } from 'bullmq';
import { BullMQTelemetry } from '../../instrumentation/bullmq/index.js';
import { withCorrelationId } from '../../instrumentation/core/correlation.js';
import type { MetricsRegistry } from '../../instrumentation/core/metrics.js';

export interface BullMQDemoOptions {
  /** Redis URL. */
  url: string;
  /** Orders to place; default 3. Every 3rd order's email fails for good. */
  orders?: number;
  log?: (line: string) => void;
  /** Give up after this long; default 30000 ms. */
  timeoutMs?: number;
  tracerProvider?: TracerProvider;
  /** `'link'`: each delivery starts its own trace, linked to the publish (`hoptrace demo --link`). */
  linkMode?: 'parent' | 'link';
  registry?: MetricsRegistry;
}

export interface BullMQDemoResult {
  queues: { orders: string; emails: string; shipping: string; warehouse: string };
  handled: { billing: number; mailer: number; warehouse: number; shipping: number };
  /** Correlation IDs of every order, and of those whose email ended in the failed set. */
  correlationIds: string[];
  failedEmails: string[];
  /** BullMQ's own count of the emails queue's failed set after the run. */
  failedSet: number;
}

const EMAIL_ATTEMPTS = 3;
const ITEMS_PER_ORDER = 2;

export async function runBullMQDemo(options: BullMQDemoOptions): Promise<BullMQDemoResult> {
  const count = options.orders ?? 3;
  const log = options.log ?? (() => undefined);
  const { hostname, port, password, username } = new URL(options.url);
  const connection = {
    host: hostname,
    port: Number(port || 6379),
    ...(password ? { password: decodeURIComponent(password) } : {}),
    ...(username ? { username: decodeURIComponent(username) } : {}),
    maxRetriesPerRequest: null,
  };
  const telemetry = (serviceName: string) =>
    new BullMQTelemetry({
      serviceName,
      tracerProvider: options.tracerProvider,
      registry: options.registry,
      linkMode: options.linkMode,
    });
  const suffix = randomBytes(4).toString('hex');
  const queues = {
    orders: `hoptrace-demo-orders-${suffix}`,
    emails: `hoptrace-demo-emails-${suffix}`,
    shipping: `hoptrace-demo-shipping-${suffix}`,
    warehouse: `hoptrace-demo-warehouse-${suffix}`,
  };
  const handled = { billing: 0, mailer: 0, warehouse: 0, shipping: 0 };
  const failedEmails: string[] = [];
  const fast = { connection, drainDelay: 0.5 };

  const checkoutTm = telemetry('checkout');
  const billingTm = telemetry('billing');
  const mailerTm = telemetry('mailer');
  const warehouseTm = telemetry('warehouse');
  const shippingTm = telemetry('shipping');
  const orders = new Queue(queues.orders, { connection, telemetry: checkoutTm });
  const emails = new Queue(queues.emails, { connection, telemetry: billingTm });
  const flows = new FlowProducer({ connection, telemetry: billingTm });
  const admin = [queues.shipping, queues.warehouse].map((name) => new Queue(name, { connection }));

  let settled = 0;
  let finish: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => {
    finish = resolve;
  });
  // Each order ends twice: its email (sent or failed for good) and its shipment.
  const done = () => {
    if (++settled === 2 * count) finish();
  };

  const billing = new Worker(
    queues.orders,
    billingTm.processor(async (job: Job<{ order: number; items: number }>) => {
      handled.billing++;
      const { order, items } = job.data;
      // Both run in the order job's context: same trace, same correlation ID.
      await emails.add(
        'confirmation',
        { order },
        { attempts: EMAIL_ATTEMPTS, backoff: { type: 'exponential', delay: 50 } },
      );
      await flows.add(
        billingTm.flow({
          name: 'ship-order',
          queueName: queues.shipping,
          data: { order },
          children: Array.from({ length: items }, (_, i) => ({
            name: 'pick-item',
            queueName: queues.warehouse,
            data: { order, item: i + 1 },
          })),
        }),
      );
      return 'charged';
    }),
    { ...fast, telemetry: billingTm },
  );
  const mailer = new Worker(
    queues.emails,
    mailerTm.processor(async (job: Job<{ order: number }>) => {
      handled.mailer++;
      if (job.data.order % 3 === 0) throw new Error('mailbox unavailable');
      return 'sent';
    }),
    { ...fast, telemetry: mailerTm },
  );
  mailer.on('completed', done);
  mailer.on('failed', (job) => {
    if (job && job.attemptsMade >= EMAIL_ATTEMPTS) done();
  });
  const warehouse = new Worker(
    queues.warehouse,
    warehouseTm.processor(async () => {
      handled.warehouse++;
      return 'picked';
    }),
    { ...fast, telemetry: warehouseTm, concurrency: 4 },
  );
  const shipping = new Worker(
    queues.shipping,
    shippingTm.processor(async () => {
      handled.shipping++;
      return 'shipped';
    }),
    { ...fast, telemetry: shippingTm },
  );
  shipping.on('completed', done);
  const workers = [billing, mailer, warehouse, shipping];

  try {
    log(
      `Queues ${queues.orders} -> ${queues.emails} (${EMAIL_ATTEMPTS} attempts) and flow ${queues.shipping} <- ${queues.warehouse} (${ITEMS_PER_ORDER} items)`,
    );
    const correlationIds: string[] = [];
    for (let i = 1; i <= count; i++) {
      const correlationId = `order-${suffix}-${i}`;
      correlationIds.push(correlationId);
      await withCorrelationId(correlationId, () =>
        orders.add('order.placed', { order: i, items: ITEMS_PER_ORDER }),
      );
    }
    const timeoutMs = options.timeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      allDone,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the orders did not finish within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    for (const job of await emails.getFailed()) {
      failedEmails.push(correlationIds[(job.data as { order: number }).order - 1] ?? String(job.id));
    }
    failedEmails.sort();
    const failedSet = (await emails.getJobCounts('failed')).failed ?? 0;
    return { queues, handled, correlationIds, failedEmails, failedSet };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    for (const q of [orders, emails, ...admin]) await q.obliterate({ force: true }).catch(() => undefined);
    await Promise.all([orders.close(), emails.close(), flows.close(), ...admin.map((q) => q.close())]);
  }
}

export function formatBullMQDemoSummary(result: BullMQDemoResult): string {
  const q = result.queues;
  return [
    `Placed ${result.correlationIds.length} orders on BullMQ queue ${q.orders}.`,
    `  billing: ${result.handled.billing} orders charged`,
    `  ${q.emails}: ${result.handled.mailer} attempts; ${result.failedEmails.length} emails ended in the failed set after ${EMAIL_ATTEMPTS} attempts (${result.failedEmails.join(', ') || 'none'})`,
    `  ${q.warehouse}: ${result.handled.warehouse} items picked; ${q.shipping}: ${result.handled.shipping} orders shipped after their items`,
  ].join('\n');
}
