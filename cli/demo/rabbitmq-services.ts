/**
 * The demo's services, each on its own instrumented connection with its own service name, as separate
 * processes would be: the storefront publishes orders; billing, inventory and email consume them; billing
 * publishes payment.processed, which shipping consumes (a second hop); email
 * rejects orders whose address bounces (requeue=false), which RabbitMQ dead-letters to the DLQ that
 * dlq-audit reads. Nothing here mentions tracing except the one `instrumentAmqp` line per connection.
 */
import type { TracerProvider } from '@opentelemetry/api';
import amqplib, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { instrumentAmqp, parseXDeath } from '../../instrumentation/amqp/index.js';
import { withCorrelationId } from '../../instrumentation/core/correlation.js';
import type { MetricsRegistry } from '../../instrumentation/core/metrics.js';
import { type DemoTopology, declareTopology } from './rabbitmq-topology.js';

export interface Order {
  orderId: string;
  sku: string;
  quantity: number;
  amountCents: number;
  email: string;
}

export interface ServiceOptions {
  url: string;
  topology: DemoTopology;
  tracerProvider?: TracerProvider;
  /** `'link'`: each delivery starts its own trace, linked to the publish (`hoptrace demo --link`). */
  linkMode?: 'parent' | 'link';
  registry?: MetricsRegistry;
}

export type WorkerName = 'billing' | 'shipping' | 'inventory' | 'email' | 'dlq-audit';

/** What a worker saw; the demo waits on these counts. */
export interface WorkerEvent {
  worker: WorkerName;
  order: Order;
  correlationId: string | undefined;
  /** dlq-audit only: why and where from RabbitMQ dead-lettered it. */
  deadLetter?: { reason: string; source: string | undefined };
}

export interface Service {
  readonly name: string;
  close(): Promise<void>;
}

async function connect(name: string, options: ServiceOptions): Promise<ChannelModel> {
  const raw = await amqplib.connect(options.url, { clientProperties: { connection_name: name } });
  return instrumentAmqp(raw, {
    serviceName: name,
    tracerProvider: options.tracerProvider,
    linkMode: options.linkMode,
    registry: options.registry,
  });
}

export interface Storefront extends Service {
  /** Publishes `order.placed` under the order's correlation ID and waits for the broker's confirm. */
  placeOrder(order: Order, correlationId: string): Promise<void>;
}

export async function startStorefront(options: ServiceOptions): Promise<Storefront> {
  const conn = await connect('storefront', options);
  const ch = await conn.createConfirmChannel();
  await declareTopology(ch, options.topology);
  return {
    name: 'storefront',
    async placeOrder(order, correlationId) {
      await withCorrelationId(correlationId, async () => {
        ch.publish(options.topology.exchange, 'order.placed', Buffer.from(JSON.stringify(order)), {
          contentType: 'application/json',
          persistent: false,
        });
        await ch.waitForConfirms();
      });
    },
    close: () => conn.close(),
  };
}

/** Starts one worker consuming its queue; `onEvent` sees every message it handled. */
export async function startWorker(
  worker: WorkerName,
  options: ServiceOptions,
  onEvent: (event: WorkerEvent) => void,
): Promise<Service> {
  const conn = await connect(worker, options);
  const ch = await conn.createChannel();
  await declareTopology(ch, options.topology);
  await ch.prefetch(10);
  const t = options.topology;
  const queue = {
    billing: t.billing,
    shipping: t.shipping,
    inventory: t.inventory,
    email: t.email,
    'dlq-audit': t.emailDeadLetters,
  }[worker];
  // Return the handler's promise: hoptrace keeps the process span open (and times it) until it settles.
  await ch.consume(queue, (msg) => (msg ? handle(worker, ch, msg, onEvent) : undefined));
  return { name: worker, close: () => conn.close() };
}

async function handle(
  worker: WorkerName,
  ch: Channel,
  msg: ConsumeMessage,
  onEvent: (e: WorkerEvent) => void,
) {
  const order = JSON.parse(msg.content.toString()) as Order;
  const correlationId = msg.properties.headers?.['x-correlation-id'] as string | undefined;
  await new Promise((resolve) => setTimeout(resolve, worker === 'billing' ? 4 : 1)); // the "work"
  if (worker === 'billing') {
    // Published inside the handler: a child of billing's delivery, in the order's flow.
    const payment = { orderId: order.orderId, amountCents: order.amountCents };
    ch.publish(msg.fields.exchange, 'payment.processed', Buffer.from(JSON.stringify(payment)), {
      contentType: 'application/json',
      persistent: false,
    });
  }
  if (worker === 'email' && order.email.endsWith('.invalid')) {
    ch.reject(msg, false); // the address bounces: RabbitMQ dead-letters the message
  } else {
    ch.ack(msg);
  }
  const event: WorkerEvent = { worker, order, correlationId };
  if (worker === 'dlq-audit') {
    const [latest] = parseXDeath(msg.properties.headers);
    event.deadLetter = { reason: latest?.reason ?? 'unknown', source: latest?.queue };
  }
  onEvent(event);
}
