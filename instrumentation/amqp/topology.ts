/**
 * What hoptrace knows about queues from `assertQueue` calls on instrumented channels (process-wide: the
 * queue may be declared on another channel than the one consuming it):
 * - dead-letter exchanges, to tell `dead_letter` from `reject` when a message is nacked or rejected
 *   without requeue (plus the `deadLetterExchanges` option; a broker policy's are unknown otherwise);
 * - temporary and anonymous queues (exclusive, server-named), whose names span names and metric labels
 *   replace by a placeholder.
 */
import { type DestinationTraits, headerString, NAMED_DESTINATION, traitsOfName } from '../transport/index.js';

export const MAX_KNOWN_QUEUES = 10_000;

export class Topology {
  private readonly learned = new Map<string, string>();
  private readonly traits = new Map<string, DestinationTraits>();

  /** What the declaration of `queue` said about it being temporary or anonymous, if it was declared here. */
  traitsOf(queue: string): DestinationTraits | undefined {
    return this.traits.get(queue);
  }

  /** The dead-letter exchange of `queue` (`''` is the default exchange), if known. */
  deadLetterExchange(queue: string, configured?: Readonly<Record<string, string>>): string | undefined {
    if (configured && Object.hasOwn(configured, queue)) return configured[queue];
    return this.learned.get(queue);
  }

  /** Records a successful `assertQueue(queue, options)`; `serverNamed` when it was declared as `''`. */
  declared(queue: string, options: unknown, serverNamed = false): void {
    const exclusive =
      options !== null &&
      typeof options === 'object' &&
      (options as { exclusive?: unknown }).exclusive === true;
    if (exclusive || serverNamed)
      remember(this.traits, queue, { temporary: exclusive, anonymous: serverNamed });
    else this.traits.delete(queue);
    const exchange = deadLetterExchangeOf(options);
    if (exchange === undefined) {
      this.learned.delete(queue);
      return;
    }
    remember(this.learned, queue, exchange);
  }

  deleted(queue: string): void {
    this.learned.delete(queue);
    this.traits.delete(queue);
  }
}

/** Bounded: at `MAX_KNOWN_QUEUES` the oldest declaration is forgotten. */
function remember<V>(map: Map<string, V>, queue: string, value: V): void {
  if (!map.has(queue) && map.size >= MAX_KNOWN_QUEUES) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
  map.set(queue, value);
}

/**
 * Whether `queue` is temporary or anonymous: the `temporaryQueues` option first (true or false decides),
 * then what its declaration here said, then what its name says (`amq.gen-*`, a UUID, direct reply-to).
 */
export function queueTraits(
  queue: string,
  option: ((queue: string) => boolean | undefined) | undefined,
): DestinationTraits {
  const own = option?.(queue);
  if (own === false) return NAMED_DESTINATION;
  const declared = topology.traitsOf(queue);
  const byName = traitsOfName(queue);
  return {
    temporary: own === true || declared?.temporary === true || byName.temporary,
    anonymous: declared?.anonymous === true || byName.anonymous,
  };
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
