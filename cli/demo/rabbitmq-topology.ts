/**
 * The demo's broker objects:
 *
 *   <p>.orders (topic) --order.placed--> <p>.billing --payment.processed (via <p>.orders)--> <p>.shipping
 *                      --order.*------> <p>.inventory
 *                      --order.placed--> <p>.email --reject(requeue=false)--> <p>.dlx (fanout) --> <p>.email.dlq
 *
 * Declared idempotently by every service, so the storefront and the workers can start in any order.
 */
import type { Channel } from 'amqplib';

export interface DemoTopology {
  exchange: string;
  deadLetterExchange: string;
  billing: string;
  shipping: string;
  inventory: string;
  email: string;
  emailDeadLetters: string;
}

export function demoTopology(prefix = 'hoptrace-demo'): DemoTopology {
  return {
    exchange: `${prefix}.orders`,
    deadLetterExchange: `${prefix}.dlx`,
    billing: `${prefix}.billing`,
    shipping: `${prefix}.shipping`,
    inventory: `${prefix}.inventory`,
    email: `${prefix}.email`,
    emailDeadLetters: `${prefix}.email.dlq`,
  };
}

/** Declares everything; through an instrumented channel, so hoptrace learns the email queue's DLX. */
export async function declareTopology(ch: Channel, t: DemoTopology): Promise<void> {
  await ch.assertExchange(t.exchange, 'topic', { durable: false });
  await ch.assertExchange(t.deadLetterExchange, 'fanout', { durable: false });
  await ch.assertQueue(t.emailDeadLetters, { durable: false });
  await ch.bindQueue(t.emailDeadLetters, t.deadLetterExchange, '');
  await ch.assertQueue(t.billing, { durable: false });
  await ch.bindQueue(t.billing, t.exchange, 'order.placed');
  await ch.assertQueue(t.shipping, { durable: false });
  await ch.bindQueue(t.shipping, t.exchange, 'payment.processed');
  await ch.assertQueue(t.inventory, { durable: false });
  await ch.bindQueue(t.inventory, t.exchange, 'order.*');
  await ch.assertQueue(t.email, { durable: false, deadLetterExchange: t.deadLetterExchange });
  await ch.bindQueue(t.email, t.exchange, 'order.placed');
}

/** Drops messages left by an earlier, interrupted run. */
export async function purgeTopology(ch: Channel, t: DemoTopology): Promise<void> {
  for (const queue of [t.billing, t.shipping, t.inventory, t.email, t.emailDeadLetters])
    await ch.purgeQueue(queue);
}
