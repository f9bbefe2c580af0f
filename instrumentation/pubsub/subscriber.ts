/**
 * The consumer side: each `message` listener of a wrapped Subscription runs in a `process {subscription}`
 * span. The listener gets the client's Message behind a thin proxy whose `ack()` / `nack()` (and the
 * `...WithResponse` forms) settle the span's outcome before calling the real method; everything else is
 * the Message itself. A lease that runs out (the client's `maxExtensionTime`) settles it too.
 *
 * Outcomes: ack -> `ack`; nack -> `requeue`, or `dead_letter` (reason `delivery_limit`, counted once, here)
 * on the last attempt a dead-letter policy allows; a throwing handler -> `error` (the client neither acks
 * nor nacks it), or `dead_letter` on the last attempt; lease expiry -> `retry`, or `dead_letter`.
 */
import type { Message } from '@google-cloud/pubsub';
import type { Attributes } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME,
  ATTR_MESSAGING_GCP_PUBSUB_DELIVERY_ATTEMPT,
  ATTR_MESSAGING_GCP_PUBSUB_ORDERING_KEY,
  ATTR_MESSAGING_MESSAGE_BODY_SIZE,
} from '../core/semconv.js';
import {
  type Delivery,
  errorTypeOf,
  isPromiseLike,
  type Outcome,
  runHandler,
  type SettleDetail,
  startDelivery,
} from '../transport/index.js';
import { PubSubLeaseExpiredError } from './errors.js';
import type { PubSubWrapContext, SubscriptionLike } from './internal-types.js';
import type { PubSubConsumeMessage } from './types.js';
import {
  AttemptTracker,
  deadLetterSourceOf,
  incomingAttributes,
  maxDeliveryAttemptsOf,
  shortName,
} from './utils.js';

/** The client's default `maxExtensionTime` (60 minutes). */
const DEFAULT_MAX_EXTENSION_MS = 60 * 60 * 1000;

type Listener = (...args: unknown[]) => unknown;
const ADD_METHODS = new Set(['on', 'addListener', 'once', 'prependListener', 'prependOnceListener']);
const REMOVE_METHODS = new Set(['off', 'removeListener']);

export function wrapSubscription<T extends object>(ctx: PubSubWrapContext, subscription: T): T {
  if (ctx.wrapped.has(subscription)) return subscription;
  const existing = ctx.wrappers.get(subscription);
  if (existing) return existing as T;
  const raw = subscription as unknown as SubscriptionLike;
  const tracer = new SubscriptionTracer(ctx, raw);
  const methods = new Map<PropertyKey, Listener>();
  const proxy: T = new Proxy(subscription, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      let method = methods.get(prop);
      if (method) return method;
      if (typeof prop === 'string' && ADD_METHODS.has(prop)) {
        method = function (this: unknown, event: unknown, listener: unknown, ...rest: unknown[]) {
          const l =
            event === 'message' && typeof listener === 'function'
              ? tracer.wrap(listener as Listener)
              : listener;
          return value.call(this === proxy ? proxy : this, event, l, ...rest);
        };
      } else if (typeof prop === 'string' && REMOVE_METHODS.has(prop)) {
        method = function (this: unknown, event: unknown, listener: unknown, ...rest: unknown[]) {
          const l =
            event === 'message' && typeof listener === 'function'
              ? tracer.wrapped(listener as Listener)
              : listener;
          return value.call(this === proxy ? proxy : this, event, l, ...rest);
        };
      } else if (prop === 'close') {
        method = function (this: unknown, ...args: unknown[]) {
          return tracer.close(value as Listener, this, args);
        };
      } else {
        return value;
      }
      methods.set(prop, method);
      return method;
    },
  });
  ctx.wrappers.set(subscription, proxy);
  ctx.wrapped.add(proxy);
  return proxy;
}

/** One delivery in progress: its span, the Message proxy the listener gets, when its lease runs out. */
interface OpenDelivery {
  readonly delivery: Delivery;
  readonly message: Message;
  proxy: Message;
  leaseMs: number;
  leaseEnds: number;
}

export class SubscriptionTracer {
  readonly name: string;
  private readonly attempts = new AttemptTracker();
  private readonly open = new Set<OpenDelivery>();
  private readonly listeners = new WeakMap<Listener, Listener>();
  /** Attempt limit of the dead-letter policy; null: none or unreadable; undefined: not known yet. */
  private maxAttempts: number | null | undefined;
  private fetching = false;
  /** One timer for all open leases, due at the earliest (a timer per message cost more than the rest of `start`). */
  private leaseTimer: NodeJS.Timeout | undefined;
  private leaseDue = Number.POSITIVE_INFINITY;

  constructor(
    private readonly ctx: PubSubWrapContext,
    private readonly raw: SubscriptionLike,
  ) {
    this.name = shortName(raw.name);
  }

  wrap(listener: Listener): Listener {
    let wrapped = this.listeners.get(listener);
    if (!wrapped) {
      const tracer = this;
      wrapped = function (this: unknown, message: unknown, ...rest: unknown[]) {
        return tracer.deliver(listener, this, message, rest);
      };
      this.listeners.set(listener, wrapped);
    }
    return wrapped;
  }

  wrapped(listener: Listener): Listener {
    return this.listeners.get(listener) ?? listener;
  }

  /** Deliveries still open (tests, close). */
  get inFlight(): number {
    return this.open.size;
  }

  private deliver(listener: Listener, thisArg: unknown, message: unknown, rest: unknown[]): unknown {
    const open = this.start(message);
    if (!open) return listener.call(thisArg, message, ...rest);
    return this.run(open, () => listener.call(thisArg, open.proxy, ...rest));
  }

  private start(value: unknown): OpenDelivery | undefined {
    const { instr } = this.ctx;
    if (!value || typeof value !== 'object') return undefined;
    try {
      const message = value as Message;
      const attributes = (message.attributes ?? {}) as Record<string, unknown>;
      const serverAttempt = Number(message.deliveryAttempt) || 0;
      if (serverAttempt > 0) this.learnPolicy();
      const local = typeof message.id === 'string' ? this.attempts.delivered(message.id) : 1;
      const attempt = serverAttempt > 0 ? serverAttempt : local;
      const spanAttributes: Attributes = { [ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME]: this.name };
      if (message.data) spanAttributes[ATTR_MESSAGING_MESSAGE_BODY_SIZE] = message.data.byteLength;
      if (message.orderingKey) spanAttributes[ATTR_MESSAGING_GCP_PUBSUB_ORDERING_KEY] = message.orderingKey;
      if (serverAttempt > 0) spanAttributes[ATTR_MESSAGING_GCP_PUBSUB_DELIVERY_ATTEMPT] = serverAttempt;
      const source = deadLetterSourceOf(attributes);
      const publishTime = message.publishTime?.getTime?.();
      const delivery = startDelivery(instr, {
        destination: this.name,
        headers: incomingAttributes(attributes),
        messageId: typeof message.id === 'string' ? message.id : undefined,
        attempt,
        redelivered: attempt > 1,
        publishedAtFallback: Number.isFinite(publishTime) && publishTime! > 0 ? publishTime : undefined,
        // Pub/Sub names the source subscription on a forwarded message; the subscription that gave up counted it.
        deadLetter: source !== undefined ? { reason: 'delivery_limit', source, count: false } : undefined,
        attributes: spanAttributes,
        message: { subscription: this.name, message } as PubSubConsumeMessage,
        settleTimeoutMs: this.ctx.settleTimeoutMs,
      });
      const leaseMs = this.maxExtensionMs();
      const received = Number(message.received) || Date.now();
      const open: OpenDelivery = {
        delivery,
        message,
        proxy: message,
        leaseMs,
        leaseEnds: received + leaseMs,
      };
      open.proxy = this.settlingProxy(open);
      this.open.add(open);
      if (open.leaseEnds < this.leaseDue) this.armLeases(open.leaseEnds);
      return open;
    } catch (err) {
      instr.guard.report('consume', err);
      return undefined;
    }
  }

  /**
   * Runs the listener in the delivery's context. A synchronous throw propagates to the client as is; an
   * async listener's rejection stays unhandled exactly as without hoptrace (the client drops the promise).
   */
  private run(open: OpenDelivery, invoke: () => unknown): unknown {
    // The core's rule: same result or error, once; thenables of any realm; the client drops the promise.
    return runHandler(
      this.ctx.instr.guard,
      open.delivery,
      invoke,
      { succeeded() {}, failed: (error) => this.settle(open, ...this.failure(open, error)) },
      { keepRejectionUnhandled: true },
    );
  }

  private settlingProxy(open: OpenDelivery): Message {
    const tracer = this;
    const message = open.message;
    const methods: Record<string, Listener> = {
      ack() {
        const r = message.ack();
        tracer.settle(open, 'ack');
        return r;
      },
      nack() {
        const r = message.nack();
        tracer.settle(open, ...tracer.negative(open));
        return r;
      },
      ackWithResponse() {
        return tracer.observe(open, message.ackWithResponse(), () => ['ack']);
      },
      nackWithResponse() {
        return tracer.observe(open, message.nackWithResponse(), () => tracer.negative(open));
      },
    };
    return new Proxy(message, {
      get(target, prop) {
        if (typeof prop === 'string' && Object.hasOwn(methods, prop)) return methods[prop];
        return Reflect.get(target, prop, target);
      },
    });
  }

  /** Settles when an exactly-once ack or nack is confirmed; a failed one is a `retry`. Same value or error. */
  private observe(
    open: OpenDelivery,
    response: Promise<unknown>,
    success: () => [Outcome, SettleDetail?],
  ): Promise<unknown> {
    return response.then(
      (value) => {
        this.settle(open, ...success());
        return value;
      },
      (error: unknown) => {
        this.settle(open, 'retry', { error });
        throw error;
      },
    );
  }

  /** The outcome of a nack: the last attempt a dead-letter policy allows is dead-lettered. */
  private negative(open: OpenDelivery, error?: unknown): [Outcome, SettleDetail?] {
    const max = this.maxAttempts;
    const attempt = Number(open.message.deliveryAttempt) || 0;
    if (typeof max === 'number' && attempt >= max) {
      return ['dead_letter', { deadLetterReason: 'delivery_limit', countDeadLetter: true, error }];
    }
    return error === undefined ? ['requeue'] : ['retry', { error }];
  }

  private failure(open: OpenDelivery, error: unknown): [Outcome, SettleDetail?] {
    const [outcome, detail] = this.negative(open, error);
    return outcome === 'dead_letter' ? [outcome, detail] : ['error', { error }];
  }

  private settle(open: OpenDelivery, outcome: Outcome, detail?: SettleDetail): void {
    if (!this.open.delete(open)) {
      // Already settled: a handler error after an ack still marks the span.
      if (detail?.error !== undefined) this.markError(open, detail.error);
      return;
    }
    if (outcome === 'ack' || outcome === 'dead_letter') {
      if (typeof open.message.id === 'string') this.attempts.forget(open.message.id);
    }
    open.delivery.settle(outcome, detail);
  }

  private markError(open: OpenDelivery, error: unknown): void {
    this.ctx.instr.guard.do('handler error', () => {
      open.delivery.span.setAttribute('error.type', errorTypeOf(error));
    });
  }

  private armLeases(due: number): void {
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.leaseDue = due;
    this.leaseTimer = setTimeout(() => this.expireLeases(), Math.max(0, due - Date.now()));
    this.leaseTimer.unref();
  }

  /** Settles every open delivery whose lease ran out; the timer is set again for the next one. */
  private expireLeases(): void {
    this.leaseTimer = undefined;
    this.leaseDue = Number.POSITIVE_INFINITY;
    this.ctx.instr.guard.do('lease expiry', () => {
      const now = Date.now();
      let next = Number.POSITIVE_INFINITY;
      for (const open of [...this.open]) {
        if (open.leaseEnds > now) {
          if (open.leaseEnds < next) next = open.leaseEnds;
          continue;
        }
        const error = new PubSubLeaseExpiredError(this.name, open.leaseMs);
        const [outcome, detail] = this.negative(open, error);
        this.settle(open, outcome, detail);
      }
      if (next < this.leaseDue) this.armLeases(next);
    });
  }

  /** The client's `maxExtensionTime` for this subscription (its Subscriber keeps it; default 60 min). */
  private maxExtensionMs(): number {
    const subscriber = (
      this.raw as { _subscriber?: { maxExtensionTime?: { totalOf?: (u: string) => number } } }
    )._subscriber;
    const ms = subscriber?.maxExtensionTime?.totalOf?.('millisecond');
    return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_MAX_EXTENSION_MS;
  }

  /** Learns the dead-letter policy's attempt limit: from the Subscription's metadata, else one GetSubscription. */
  private learnPolicy(): void {
    if (typeof this.maxAttempts === 'number') return;
    const known = maxDeliveryAttemptsOf(this.raw.metadata?.deadLetterPolicy);
    if (known !== undefined) {
      this.maxAttempts = known;
      return;
    }
    if (this.fetching || this.maxAttempts === null) return;
    if (!this.ctx.fetchSubscriptionMetadata || typeof this.raw.getMetadata !== 'function') {
      this.maxAttempts = null;
      return;
    }
    this.fetching = true;
    const { guard } = this.ctx.instr;
    try {
      this.raw.getMetadata().then(
        (response) => {
          const meta = Array.isArray(response) ? response[0] : response;
          const policy = (meta as { deadLetterPolicy?: unknown } | undefined)?.deadLetterPolicy;
          this.maxAttempts = maxDeliveryAttemptsOf(policy) ?? null;
        },
        (err) => {
          this.maxAttempts = null;
          guard.report('subscription metadata', err);
        },
      );
    } catch (err) {
      this.maxAttempts = null;
      guard.report('subscription metadata', err);
    }
  }

  /** Wraps `close()`: deliveries still open when the subscription closed end unsettled (the client nacks them). */
  close(original: Listener, thisArg: unknown, args: unknown[]): unknown {
    const abandon = () =>
      this.ctx.instr.guard.do('close', () => {
        for (const open of this.open) open.delivery.abandon('subscription closed');
        this.open.clear();
        if (this.leaseTimer) clearTimeout(this.leaseTimer);
        this.leaseTimer = undefined;
        this.leaseDue = Number.POSITIVE_INFINITY;
      });
    const last = args.length - 1;
    if (last >= 0 && typeof args[last] === 'function') {
      const callback = args[last] as Listener;
      const callArgs = [...args];
      callArgs[last] = (...cbArgs: unknown[]) => {
        abandon();
        return callback(...cbArgs);
      };
      return original.apply(thisArg, callArgs);
    }
    const result = original.apply(thisArg, args);
    if (isPromiseLike(result)) {
      return result.then(
        (value) => {
          abandon();
          return value;
        },
        (error: unknown) => {
          abandon();
          throw error;
        },
      );
    }
    abandon();
    return result;
  }
}
