/**
 * `withMessageContext(message, fn)`: runs one message's work of an `eachBatch` handler as that message's
 * own delivery (its own `process` span in its producer's trace, its correlation ID, its own process
 * duration). The batch wrapper registers each message object of the batch here; nothing is added to
 * kafkajs's objects.
 */
import type { KafkaMessage } from 'kafkajs';
import { type Delivery, guardFor, runHandler } from '../transport/index.js';

export interface MessageScope {
  /** Starts one attempt at the message (a new delivery each call). */
  start(): Delivery | undefined;
}

const scopes = new WeakMap<KafkaMessage, MessageScope>();
const guard = guardFor('kafka');

export function registerMessageScope(message: KafkaMessage, scope: MessageScope): void {
  scopes.set(message, scope);
}

/**
 * Runs `fn` as the delivery of `message`, one message of an instrumented `eachBatch` batch: inside `fn`
 * the active span is the message's own `process` span (a child of its producer span), and
 * `currentCorrelationId()` is the message's. Its process duration is the time `fn` takes (until its
 * promise settles). A throw or rejection passes through untouched and records the outcome `retry`
 * (kafkajs delivers unresolved offsets again). For any other message, `fn` just runs.
 */
export function withMessageContext<T>(message: KafkaMessage, fn: () => T): T {
  let delivery: Delivery | undefined;
  try {
    delivery = scopes.get(message)?.start();
  } catch {
    delivery = undefined;
  }
  if (!delivery) return fn();
  const d = delivery;
  return runHandler(guard, d, fn, {
    succeeded: () => d.settle('ack'),
    failed: (error) => d.settle('retry', { error }),
  });
}
