/** Public types of the in-process bus. */
import type { InstrumentationOptions } from '../transport/index.js';

/** A message as a handler receives it. */
export interface BusMessage<T = unknown> {
  /** Unique per publish; every delivery of one publish shares it. */
  readonly id: string;
  readonly topic: string;
  readonly payload: T;
  /** The publisher's headers plus hoptrace's (correlation ID, timestamps). */
  readonly headers: Readonly<Record<string, unknown>>;
  readonly correlationId: string;
  /** Epoch ms. */
  readonly publishedAt: number;
  /** 1 on the first delivery, n on the nth retry + 1. */
  readonly attempt: number;
}

export type BusHandler<T = unknown> = (message: BusMessage<T>) => unknown;

/** What happens when a subscription's queue is full. */
export type OverflowPolicy = 'wait' | 'reject';

export interface BackoffOptions {
  /** Delay before the first retry; default 100 ms. */
  initialMs?: number;
  /** Growth per retry; default 2. */
  factor?: number;
  /** Longest delay; default 10 s. */
  maxMs?: number;
  /** Randomize each delay in [delay/2, delay] to spread retries; default false (deterministic). */
  jitter?: boolean;
}

export interface SubscribeOptions {
  /**
   * Consumer group: each message goes to one member of the group (round-robin among members whose
   * pattern matches). Subscriptions without a group each get every matching message.
   */
  group?: string;
  /** Name for metrics and spans when there is no group; default the pattern. */
  name?: string;
  /** The service this handler belongs to (spans' `hoptrace.service.name`); default the bus's `serviceName`. */
  serviceName?: string;
  /** Handler calls running at once; default 1, which keeps this subscription's messages in order. */
  concurrency?: number;
  /** Attempts per message including the first; default 3. After the last failure the message is dead-lettered. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Queued messages per subscription; default 10 000. */
  maxQueueSize?: number;
  /** `'wait'` (default): `publish` waits for room. `'reject'`: `publish` rejects with BusOverflowError. */
  overflow?: OverflowPolicy;
  /** Dead-letter topic; default `<topic>.dlq`; `false` drops the message after the last attempt (still counted). */
  deadLetterTopic?: string | ((topic: string) => string) | false;
}

/** What a publish hook sees of a bus message. */
export interface BusPublication {
  readonly topic: string;
  readonly payload: unknown;
}

export interface BusOptions extends InstrumentationOptions<BusPublication, BusMessage> {
  /** The bus's name, used in errors and logs; default `bus`. */
  name?: string;
  /** Defaults for every subscription. */
  defaults?: Omit<SubscribeOptions, 'group' | 'name' | 'serviceName'>;
  /**
   * Called for every failed handler attempt with the error exactly as thrown (same object), whether the
   * message will be retried or dead-lettered. Errors thrown here are ignored.
   */
  onError?: (error: unknown, info: HandlerErrorInfo) => void;
}

export interface HandlerErrorInfo {
  message: BusMessage;
  subscription: string;
  group: string | undefined;
  attempt: number;
  willRetry: boolean;
}

export interface PublishOptions {
  /** The flow's correlation ID; default from the active context, the handled message, or a new one. */
  correlationId?: string;
  headers?: Record<string, unknown>;
}

export interface PublishResult {
  messageId: string;
  correlationId: string;
  /** Deliveries enqueued: one per matching subscription without a group, one per matching group. */
  deliveries: number;
}
