/**
 * What hoptrace knows about queues' dead-letter exchanges, to tell `dead_letter` from `reject` when a
 * message is nacked or rejected without requeue. Learned from `assertQueue` calls on instrumented
 * channels (process-wide: the queue may be declared on another channel than the one consuming it) and
 * from the `deadLetterExchanges` option. Queues whose dead-letter exchange comes from a broker policy
 * are unknown unless listed in that option.
 */
import { headerString } from '../transport/index.js';

export const MAX_KNOWN_QUEUES = 10_000;

export class Topology {
  private readonly learned = new Map<string, string>();

  /** The dead-letter exchange of `queue` (`''` is the default exchange), if known. */
  deadLetterExchange(queue: string, configured?: Readonly<Record<string, string>>): string | undefined {
    if (configured && Object.hasOwn(configured, queue)) return configured[queue];
    return this.learned.get(queue);
  }

  /** Records a successful `assertQueue(queue, options)`. */
  declared(queue: string, options: unknown): void {
    const exchange = deadLetterExchangeOf(options);
    if (exchange === undefined) {
      this.learned.delete(queue);
      return;
    }
    if (!this.learned.has(queue) && this.learned.size >= MAX_KNOWN_QUEUES) {
      // Bounded: forget the oldest declaration.
      const oldest = this.learned.keys().next().value;
      if (oldest !== undefined) this.learned.delete(oldest);
    }
    this.learned.set(queue, exchange);
  }

  deleted(queue: string): void {
    this.learned.delete(queue);
  }
}

/** The dead-letter exchange an `assertQueue` options object declares, as amqplib would send it. */
export function deadLetterExchangeOf(options: unknown): string | undefined {
  if (options === null || typeof options !== 'object') return undefined;
  const opts = options as { deadLetterExchange?: unknown; arguments?: unknown };
  // amqplib lets the option override the raw argument.
  if (typeof opts.deadLetterExchange === 'string') return opts.deadLetterExchange;
  if (opts.arguments !== null && typeof opts.arguments === 'object') {
    return headerString((opts.arguments as Record<string, unknown>)['x-dead-letter-exchange']);
  }
  return undefined;
}

/** Shared by every instrumented channel in the process. */
export const topology = new Topology();
