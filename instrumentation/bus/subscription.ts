/**
 * One subscription's worker: a bounded queue, a concurrency limit, retries with exponential backoff,
 * and a hand-off to the dead-letter topic after the last attempt.
 */
import type { Context, Span } from '@opentelemetry/api';
import type { ConsumerSeries } from '../core/metrics.js';
import {
  type Delivery,
  type DeliveryRequest,
  deadLetterDestinationFor,
  type HandlerOutcome,
  type IncomingContext,
  type Instrumentation,
  positiveInt,
  RULES,
  resolveOption,
  runHandler,
  settleDeadLettered,
  startDelivery,
  throwPolicy,
} from '../transport/index.js';
import { Deque } from './deque.js';
import type { TopicMatcher } from './topic.js';
import type {
  BusHandler,
  BusMessage,
  BusPublication,
  HandlerErrorInfo,
  OverflowPolicy,
  SubscribeOptions,
} from './types.js';

/** A published message waiting in a subscription's queue, with the publisher's live context. */
export interface Envelope {
  message: Omit<BusMessage, 'attempt'>;
  /** The producer span's context, handed over in process: no serialization per delivery. */
  context: Context;
  producerSpan: Span;
  incoming: IncomingContext;
}

export interface SubscriptionStats {
  pattern: string;
  name: string;
  group: string | undefined;
  /** Waiting in the queue. */
  queued: number;
  /** Handler running or waiting to retry. */
  inFlight: number;
  processed: number;
  failedAttempts: number;
  deadLettered: number;
  /** Epoch ms the oldest queued message was published; undefined when the queue is empty. */
  oldestQueuedPublishedAt: number | undefined;
}

export interface ResolvedSubscribeOptions {
  group: string | undefined;
  name: string;
  serviceName: string | undefined;
  concurrency: number;
  maxAttempts: number;
  backoff: { initialMs: number; factor: number; maxMs: number; jitter: boolean };
  maxQueueSize: number;
  overflow: OverflowPolicy;
  deadLetterTopic: ((topic: string) => string) | false;
}

export const SUBSCRIPTION_DEFAULTS = {
  concurrency: 1,
  maxAttempts: 3,
  backoff: { initialMs: 100, factor: 2, maxMs: 10_000, jitter: false },
  maxQueueSize: 10_000,
  overflow: 'wait' as OverflowPolicy,
};

/** What a subscription needs from its bus. */
export interface SubscriptionHost {
  readonly instr: Instrumentation<BusPublication, BusMessage>;
  onError(error: unknown, info: HandlerErrorInfo): void;
  /** Publishes a dead letter in the failed delivery's context; never rejected for a full queue. */
  deadLetter(
    topic: string,
    message: BusMessage,
    error: unknown,
    context: Context,
    subscription: Subscription,
  ): Promise<void>;
  /** Called whenever the subscription may have become idle. */
  settled(): void;
}

export class Subscription {
  private readonly queue = new Deque<Envelope>();
  private active = 0;
  private readonly roomWaiters: Array<() => void> = [];
  private closed = false;
  /** True while `pump` runs its loop. */
  private pumping = false;
  private stats = { processed: 0, failedAttempts: 0, deadLettered: 0 };
  private seriesTopic: string | undefined;
  private series: ConsumerSeries | undefined;

  constructor(
    readonly pattern: string,
    readonly matches: TopicMatcher,
    private readonly handler: BusHandler,
    readonly options: ResolvedSubscribeOptions,
    private readonly host: SubscriptionHost,
  ) {}

  /** The label used for `messaging.consumer.group.name`. */
  get groupLabel(): string {
    return this.options.group ?? this.options.name;
  }

  get isFull(): boolean {
    return this.queue.length >= this.options.maxQueueSize;
  }

  get isIdle(): boolean {
    return this.queue.length === 0 && this.active === 0;
  }

  /** Queued plus in flight: the subscription's lag. */
  get pending(): number {
    return this.queue.length + this.active;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  snapshot(): SubscriptionStats {
    return {
      pattern: this.pattern,
      name: this.options.name,
      group: this.options.group,
      queued: this.queue.length,
      inFlight: this.active,
      ...this.stats,
      oldestQueuedPublishedAt: this.queue.peek()?.message.publishedAt,
    };
  }

  /** Resolves when the queue has room (or the subscription closed). */
  waitForRoom(): Promise<void> {
    if (!this.isFull || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  enqueue(envelope: Envelope): void {
    this.queue.push(envelope);
    this.pump();
  }

  /** Stops taking new messages; what is queued still runs. */
  close(): void {
    this.closed = true;
    this.releaseRoomWaiters();
  }

  /**
   * Starts queued messages while there is capacity. Synchronous handlers run to completion right here, one
   * after another, without a promise or microtask per message; only a handler that returns a promise
   * makes its message finish later. Re-entrant calls (a handler publishing to this subscription, a
   * synchronous completion) return at once: the loop that is already running picks the work up, so a
   * long queue never deepens the stack.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.active < this.options.concurrency && this.queue.length > 0) {
        const envelope = this.queue.shift() as Envelope;
        this.active++;
        this.releaseRoomWaiters();
        this.attempt(envelope, 1);
      }
    } finally {
      this.pumping = false;
    }
  }

  private releaseRoomWaiters(): void {
    while (this.roomWaiters.length > 0 && (!this.isFull || this.closed)) this.roomWaiters.shift()?.();
  }

  /** One delivery attempt of `envelope`; the message is done (see `finished`) after success or its last failure. */
  private attempt(envelope: Envelope, attempt: number): void {
    const { id, topic, payload, headers, correlationId, publishedAt } = envelope.message;
    const message: BusMessage = { id, topic, payload, headers, correlationId, publishedAt, attempt };
    const run = new AttemptRun(this, envelope, message, this.seriesFor(topic));
    const delivery = startDelivery(this.host.instr, run);
    run.delivery = delivery;
    try {
      runHandler(this.host.instr.guard, delivery, run.call, run);
    } catch {
      // The handler's own error, already handed to `failed`: the bus keeps it from the publisher.
    }
  }

  /** The metrics series of `topic` for this subscription, kept for the next message to the same topic. */
  private seriesFor(topic: string): ConsumerSeries {
    if (topic !== this.seriesTopic || !this.series) {
      const instr = this.host.instr;
      this.series = instr.metrics.consumer(instr.system, topic, this.groupLabel);
      this.seriesTopic = topic;
    }
    return this.series;
  }

  /** @internal The user's handler. */
  handle(message: BusMessage): unknown {
    return this.handler(message);
  }

  /** @internal */
  succeeded(delivery: Delivery): void {
    delivery.settle('ack');
    this.stats.processed++;
    this.finished();
  }

  /** @internal A failed attempt: retried after its backoff, or dead-lettered after the last one. */
  failed(envelope: Envelope, message: BusMessage, delivery: Delivery, error: unknown): void {
    const attempt = message.attempt;
    this.stats.failedAttempts++;
    const willRetry = attempt < this.options.maxAttempts;
    this.host.onError(error, {
      message,
      subscription: this.options.name,
      group: this.options.group,
      attempt,
      willRetry,
    });
    if (willRetry) {
      delivery.settle('retry', { error });
      setTimeout(() => this.attempt(envelope, attempt + 1), this.backoffMs(attempt));
      return;
    }
    settleDeadLettered(delivery, error);
    this.stats.deadLettered++;
    const dlq = this.options.deadLetterTopic;
    if (!dlq) {
      this.finished();
      return;
    }
    const done = () => this.finished();
    this.host.deadLetter(dlq(message.topic), message, error, delivery.context, this).then(done, done);
  }

  /** A message is done: its slot frees up for the next one. */
  private finished(): void {
    this.active--;
    this.pump();
    this.host.settled();
  }

  /** Exponential backoff before retry number `attempt` (1-based). */
  backoffMs(attempt: number): number {
    const { initialMs, factor, maxMs, jitter } = this.options.backoff;
    const delay = Math.min(maxMs, initialMs * factor ** (attempt - 1));
    return jitter ? delay / 2 + Math.random() * (delay / 2) : delay;
  }
}

/** One attempt's handler call and outcome in one object: no closures per delivery. */
/**
 * One delivery attempt: the request `startDelivery` reads and the outcome `runHandler` reports to, in one
 * object (not a request object, an outcome object and closures per delivery).
 */
class AttemptRun implements DeliveryRequest<BusMessage>, HandlerOutcome {
  readonly destination: string;
  readonly consumerGroup: string;
  readonly incoming: IncomingContext;
  /** Trace context comes from `incoming`; the headers are read only for `captureHeaders`. */
  readonly headers: BusMessage['headers'];
  readonly producerSpan: Span;
  readonly base: Context;
  readonly messageId: string;
  readonly attempt: number;
  readonly serviceName: string | undefined;
  readonly settleTimeoutMs = false;
  /** Set right after `startDelivery`, before the handler runs. */
  delivery: Delivery | undefined;

  constructor(
    private readonly subscription: Subscription,
    private readonly envelope: Envelope,
    readonly message: BusMessage,
    readonly series: ConsumerSeries,
  ) {
    this.destination = message.topic;
    this.consumerGroup = subscription.groupLabel;
    this.incoming = envelope.incoming;
    this.headers = message.headers;
    this.producerSpan = envelope.producerSpan;
    this.base = envelope.context;
    this.messageId = message.id;
    this.attempt = message.attempt;
    this.serviceName = subscription.options.serviceName;
  }

  /** The handler call, as `runHandler` wants it (an arrow: called without a receiver). */
  readonly call = (): unknown => this.subscription.handle(this.message);

  succeeded(): void {
    this.subscription.succeeded(this.delivery as Delivery);
  }

  failed(error: unknown): void {
    this.subscription.failed(this.envelope, this.message, this.delivery as Delivery, error);
  }
}

/** Fills in defaults and rejects nonsense with a clear TypeError (this is the caller's code, not input). */
export function resolveSubscribeOptions(
  pattern: string,
  options: SubscribeOptions,
  busDefaults: SubscribeOptions,
  busServiceName: string | undefined,
): ResolvedSubscribeOptions {
  const merged = {
    ...busDefaults,
    ...options,
    backoff: { ...SUBSCRIPTION_DEFAULTS.backoff, ...busDefaults.backoff, ...options.backoff },
  };
  // The caller's own code, not message input: the core's resolver under the throw policy.
  const policy = throwPolicy((message) => new TypeError(`subscribe("${pattern}"): ${message}`));
  const nonNegative = (name: string, value: unknown, fallback: number): number =>
    resolveOption(policy, `backoff.${name}`, value, RULES.nonNegativeNumber, fallback);
  const defaults = SUBSCRIPTION_DEFAULTS;
  const overflow = resolveOption(
    policy,
    'overflow',
    merged.overflow,
    RULES.oneOf<OverflowPolicy>('wait', 'reject'),
    defaults.overflow,
  );
  const group = resolveOption(policy, 'group', merged.group, RULES.nonEmptyString, undefined);
  let deadLetterTopic: ((topic: string) => string) | false;
  const dlq = merged.deadLetterTopic;
  if (dlq === false) deadLetterTopic = false;
  else if (typeof dlq === 'string') deadLetterTopic = () => dlq;
  else if (typeof dlq === 'function') deadLetterTopic = dlq;
  else if (dlq === undefined) deadLetterTopic = (topic) => deadLetterDestinationFor(undefined, topic);
  else throw new TypeError(`subscribe("${pattern}"): deadLetterTopic must be a topic, a function or false`);

  return {
    group,
    name: merged.name ?? group ?? pattern,
    serviceName: merged.serviceName ?? busServiceName,
    concurrency: positiveInt(policy, 'concurrency', merged.concurrency, defaults.concurrency),
    maxAttempts: positiveInt(policy, 'maxAttempts', merged.maxAttempts, defaults.maxAttempts),
    backoff: {
      initialMs: nonNegative('initialMs', merged.backoff.initialMs, defaults.backoff.initialMs),
      factor: Math.max(1, nonNegative('factor', merged.backoff.factor, defaults.backoff.factor)),
      maxMs: nonNegative('maxMs', merged.backoff.maxMs, defaults.backoff.maxMs),
      jitter: merged.backoff.jitter === true,
    },
    maxQueueSize: positiveInt(policy, 'maxQueueSize', merged.maxQueueSize, defaults.maxQueueSize),
    overflow,
    deadLetterTopic,
  };
}
