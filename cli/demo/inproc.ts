/**
 * The orders flow on the in-process bus, as `hoptrace demo` runs it:
 *
 *   order.placed --> billing --> payment.processed --> shipping
 *                \-> inventory
 *                \-> email (fails for some orders: retried, then dead-lettered to order.placed.dlq)
 *   #.dlq --> dlq-audit
 *
 * Each service is a subscription with its own consumer group and service name, so the spans read like
 * five services talking through a broker.
 */
import type { TracerProvider } from '@opentelemetry/api';
import { Bus } from '../../instrumentation/bus/bus.js';
import type { BusMessage } from '../../instrumentation/bus/types.js';
import { withCorrelationId } from '../../instrumentation/core/correlation.js';
import type { MetricsRegistry } from '../../instrumentation/core/metrics.js';

export interface Order {
  orderId: number;
  sku: string;
  quantity: number;
  amountCents: number;
  /** The demo's email service cannot reach these addresses. */
  email: string;
}

export interface OrdersDemoOptions {
  orders?: number;
  /** Every nth order has an address the email service always fails on; default 3. */
  failEvery?: number;
  tracerProvider?: TracerProvider;
  /** `'link'`: each delivery starts its own trace, linked to the publish (`hoptrace demo --link`). */
  linkMode?: 'parent' | 'link';
  registry?: MetricsRegistry;
  /** Delay before each retry of the email service (ms); default 20. */
  retryDelayMs?: number;
  /** Number of the first order (correlation ID `order-<n>`); default 1. */
  firstOrderId?: number;
}

export interface OrdersDemoResult {
  correlationIds: string[];
  /** Dead letters the audit service saw, by correlation ID. */
  deadLetters: Map<string, BusMessage<Order>>;
}

export class EmailBouncedError extends Error {
  override name = 'EmailBouncedError';
}

/** Builds the bus and its five services. Call `publishOrder` to start a flow; `bus.close()` when done. */
export function createOrdersSystem(options: OrdersDemoOptions = {}) {
  const bus = new Bus({
    name: 'orders',
    serviceName: 'storefront',
    tracerProvider: options.tracerProvider,
    linkMode: options.linkMode,
    registry: options.registry,
  });
  const retryDelayMs = options.retryDelayMs ?? 20;
  const deadLetters = new Map<string, BusMessage<Order>>();
  const work = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  bus.subscribe<Order>(
    'order.placed',
    async (message) => {
      await work(3);
      await bus.publish('payment.processed', {
        orderId: message.payload.orderId,
        amountCents: message.payload.amountCents,
      });
    },
    { group: 'billing', serviceName: 'billing' },
  );
  bus.subscribe<Order>('order.*', () => work(1), { group: 'inventory', serviceName: 'inventory' });
  bus.subscribe<Order>(
    'order.placed',
    async (message) => {
      await work(2);
      if (message.payload.email.endsWith('.invalid')) {
        throw new EmailBouncedError(`mailbox ${message.payload.email} does not exist`);
      }
    },
    { group: 'email', serviceName: 'email', maxAttempts: 3, backoff: { initialMs: retryDelayMs, factor: 2 } },
  );
  bus.subscribe('payment.processed', () => work(2), { group: 'shipping', serviceName: 'shipping' });
  bus.subscribe<Order>(
    '#.dlq',
    (message) => {
      deadLetters.set(message.correlationId, message);
    },
    { group: 'dlq-audit', serviceName: 'dlq-audit' },
  );

  let next = options.firstOrderId ?? 1;
  const failEvery = options.failEvery ?? 3;
  const publishOrder = async (): Promise<string> => {
    const orderId = next++;
    const correlationId = `order-${orderId}`;
    const order: Order = {
      orderId,
      sku: `SKU-${100 + (orderId % 7)}`,
      quantity: 1 + (orderId % 3),
      amountCents: 1999 * (1 + (orderId % 3)),
      email:
        orderId % failEvery === 0 ? `customer${orderId}@example.invalid` : `customer${orderId}@example.com`,
    };
    await withCorrelationId(correlationId, () => bus.publish('order.placed', order));
    return correlationId;
  };

  return { bus, publishOrder, deadLetters };
}

/** Runs `orders` flows to completion and closes the bus. */
export async function runOrdersDemo(options: OrdersDemoOptions = {}): Promise<OrdersDemoResult> {
  const system = createOrdersSystem(options);
  const correlationIds: string[] = [];
  for (let i = 0; i < (options.orders ?? 3); i++) correlationIds.push(await system.publishOrder());
  await system.bus.close();
  return { correlationIds, deadLetters: system.deadLetters };
}
