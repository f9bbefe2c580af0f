/**
 * The in-process bus: topics with wildcards, fan-out, consumer groups, bounded queues with backpressure,
 * retries, dead letters and a graceful close, traced and measured like the brokers
 * (`messaging.system = hoptrace.bus`). The publisher's OTel Context object travels with the message.
 */
import { type Context, context, createContextKey } from '@opentelemetry/api';
import { MESSAGING_SYSTEM_BUS } from '../core/semconv.js';
import {
  createInstrumentation,
  currentOriginAt,
  deadLetterHeaders,
  type Instrumentation,
  type InvalidContextReason,
  type PublishOperation,
  randomId,
  startPublish,
} from '../transport/index.js';
import { BusClosedError, BusOverflowError } from './errors.js';
import { registerBusLag, unregisterBusLag } from './lag-metrics.js';
import {
  type Envelope,
  resolveSubscribeOptions,
  Subscription,
  type SubscriptionHost,
  type SubscriptionStats,
} from './subscription.js';
import { assertTopic, compilePattern } from './topic.js';
import type {
  BusHandler,
  BusMessage,
  BusOptions,
  BusPublication,
  HandlerErrorInfo,
  PublishOptions,
  PublishResult,
  SubscribeOptions,
} from './types.js';

/** Topics whose routes are remembered; beyond this the cache starts over (topics may be unbounded, e.g. ids). */
const MAX_CACHED_ROUTES = 1_000;
/** Marks contexts of this bus's handlers: while closing, their follow-on publishes are part of the drain. */
const HANDLER_OF = createContextKey('hoptrace.bus.handler');

/** In process nothing is parsed, so nothing is invalid: one shared (frozen) empty list. */
const NO_INVALID = Object.freeze([]) as unknown as InvalidContextReason[];

/** A group's round-robin position, shared by every topic's route (looked up once per route, not per message). */
interface GroupCursor {
  next: number;
}

/** The subscriptions a topic reaches: every ungrouped match, and the matching members of each group. */
interface Route {
  solo: Subscription[];
  groups: { cursor: GroupCursor; members: Subscription[] }[];
  /** The targets when every group has one member (nothing to choose): solo, then each group's member. */
  fixed: Subscription[] | undefined;
}

/** What `subscribe` returns: stats and a way to leave. */
export interface SubscriptionHandle {
  readonly pattern: string;
  readonly name: string;
  readonly group: string | undefined;
  stats(): SubscriptionStats;
  /** Stops new deliveries to this subscription and resolves once its queued work has finished. */
  unsubscribe(): Promise<void>;
}

export class Bus {
  readonly name: string;
  /** @internal */
  readonly instr: Instrumentation<BusPublication, BusMessage>;
  private readonly subscriptions: Subscription[] = [];
  private readonly groupCursors = new Map<string, GroupCursor>();
  /** Routes by topic, valid until the subscriptions change. */
  private readonly routes = new Map<string, Route>();
  private readonly defaults: SubscribeOptions;
  private readonly onErrorCallback: BusOptions['onError'];
  private readonly idleWaiters: Array<() => void> = [];
  private publishing = 0;
  private closing = false;
  private readonly host: SubscriptionHost;

  constructor(options: BusOptions = {}) {
    this.name = typeof options.name === 'string' && options.name.length > 0 ? options.name : 'bus';
    this.instr = createInstrumentation('bus', MESSAGING_SYSTEM_BUS, options);
    this.defaults = { ...options.defaults };
    this.onErrorCallback = typeof options.onError === 'function' ? options.onError : undefined;
    this.host = {
      instr: this.instr,
      onError: (error, info) => this.reportHandlerError(error, info),
      deadLetter: (topic, message, error, ctx, from) =>
        this.publishDeadLetter(topic, message, error, ctx, from),
      settled: () => this.notifyIfIdle(),
    };
    registerBusLag(options.registry, this);
  }

  /**
   * Subscribes `handler` to topics matching `pattern` (`*` = one segment, `#` = any number).
   * Throws InvalidTopicError or TypeError on bad arguments.
   */
  subscribe<T = unknown>(
    pattern: string,
    handler: BusHandler<T>,
    options: SubscribeOptions = {},
  ): SubscriptionHandle {
    if (this.closing) throw new BusClosedError(this.name);
    const matches = compilePattern(pattern);
    if (typeof handler !== 'function')
      throw new TypeError(`subscribe("${pattern}"): handler must be a function`);
    const resolved = resolveSubscribeOptions(pattern, options, this.defaults, this.instr.serviceName);
    const subscription = new Subscription(pattern, matches, handler as BusHandler, resolved, this.host);
    this.subscriptions.push(subscription);
    this.routes.clear();
    return {
      pattern,
      name: resolved.name,
      group: resolved.group,
      stats: () => subscription.snapshot(),
      unsubscribe: async () => {
        subscription.close();
        const index = this.subscriptions.indexOf(subscription);
        if (index !== -1) this.subscriptions.splice(index, 1);
        this.routes.clear();
        await this.waitUntil(() => subscription.isIdle);
      },
    };
  }

  /**
   * Publishes `payload` to every matching subscription (one member per group). Resolves once the message
   * is queued everywhere, not when handlers finish (`drain()` waits for that). Rejects with BusClosedError,
   * InvalidTopicError, or BusOverflowError (nothing queued) when a `'reject'` queue is full.
   */
  async publish<T = unknown>(
    topic: string,
    payload: T,
    options: PublishOptions = {},
  ): Promise<PublishResult> {
    const active = context.active();
    // While closing, only handlers finishing their work may still publish (their messages are part of the drain).
    if (this.closing && active.getValue(HANDLER_OF) !== this) throw new BusClosedError(this.name);
    return this.deliver(topic, payload, options, active, false);
  }

  /** Messages queued or being handled, over every subscription: the bus's lag. */
  pending(): number {
    let total = 0;
    for (const subscription of this.subscriptions) total += subscription.pending;
    return total;
  }

  stats(): SubscriptionStats[] {
    return this.subscriptions.map((s) => s.snapshot());
  }

  /** @internal Live subscriptions, for the lag metrics. */
  subscriptionList(): readonly Subscription[] {
    return this.subscriptions;
  }

  /** Resolves when every queue is empty and no handler, retry or publish is running. */
  drain(): Promise<void> {
    return this.waitUntil(() => this.isIdle());
  }

  /**
   * Stops accepting publishes and subscriptions, then finishes all queued work: retries, dead letters, and
   * messages that handlers publish while finishing.
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.drain();
    for (const subscription of this.subscriptions) subscription.close();
    this.routes.clear();
    unregisterBusLag(this);
  }

  get closed(): boolean {
    return this.closing;
  }

  private isIdle(): boolean {
    return this.publishing === 0 && this.subscriptions.every((s) => s.isIdle);
  }

  private waitUntil(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (done()) resolve();
        else this.idleWaiters.push(check);
      };
      this.idleWaiters.push(check);
    });
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters.splice(0);
    for (const waiter of waiters) waiter();
  }

  /**
   * The subscriptions a message to `topic` goes to: every ungrouped match, one member per matching group.
   * Throws InvalidTopicError for a topic that is not publishable (checked once per cached topic).
   */
  private targetsOf(topic: string): Subscription[] {
    let route = this.routes.get(topic);
    if (!route) {
      assertTopic(topic);
      route = this.routeOf(topic);
      if (this.routes.size >= MAX_CACHED_ROUTES) this.routes.clear();
      this.routes.set(topic, route);
    }
    if (route.groups.length === 0) return route.solo;
    if (route.fixed) {
      // The cursors still move: a group may have more members on another topic's route.
      for (const group of route.groups) group.cursor.next++;
      return route.fixed;
    }
    const targets = route.solo.slice();
    for (const { cursor, members } of route.groups) targets.push(pickMember(cursor, members));
    return targets;
  }

  private routeOf(topic: string): Route {
    const solo: Subscription[] = [];
    const groups = new Map<string, Subscription[]>();
    for (const subscription of this.subscriptions) {
      if (subscription.isClosed || !subscription.matches(topic)) continue;
      const group = subscription.options.group;
      if (group === undefined) {
        solo.push(subscription);
        continue;
      }
      const members = groups.get(group);
      if (members) members.push(subscription);
      else groups.set(group, [subscription]);
    }
    const cursors = this.groupCursors;
    const grouped: Route['groups'] = [];
    for (const [group, members] of groups) {
      let cursor = cursors.get(group);
      if (!cursor) {
        cursor = { next: 0 };
        cursors.set(group, cursor);
      }
      grouped.push({ cursor, members });
    }
    const fixed = grouped.every((group) => group.members.length === 1)
      ? [...solo, ...grouped.map((group) => group.members[0] as Subscription)]
      : undefined;
    return { solo, groups: grouped, fixed };
  }

  /**
   * Queues the message at every target. Synchronous unless a `'wait'` queue is full: then it waits for
   * room (one promise per such publish, none otherwise).
   */
  private deliver(
    topic: string,
    payload: unknown,
    options: PublishOptions,
    parent: Context,
    force: boolean,
  ): PublishResult | Promise<PublishResult> {
    const targets = this.targetsOf(topic);
    const messageId = randomId();
    const operation = startPublish(this.instr, {
      destination: topic,
      operationName: 'send',
      headers: options.headers,
      correlationId: options.correlationId,
      messageId,
      inject: false,
      message: { topic, payload },
      parent,
    });
    const correlationId = operation.correlationId ?? '';
    let mustWait = false;
    if (!force) {
      for (const target of targets) {
        if (!target.isFull) continue;
        if (target.options.overflow === 'reject') {
          const error = new BusOverflowError(topic, target.options.name, target.options.maxQueueSize);
          operation.end(error);
          throw error;
        }
        mustWait = true;
      }
    }
    // Internal: each delivery hands its handler a copy. The headers object is shared by them, so frozen.
    const message: Omit<BusMessage, 'attempt'> = {
      id: messageId,
      topic,
      payload,
      headers: Object.freeze(operation.headers),
      correlationId,
      publishedAt: operation.publishedAt,
    };
    const envelope: Envelope = {
      message,
      context: operation.context.setValue(HANDLER_OF, this),
      producerSpan: operation.span,
      incoming: {
        context: operation.context,
        remote: operation.span.spanContext(),
        correlationId,
        publishedAt: operation.publishedAt,
        originAt: currentOriginAt(operation.context),
        messageId,
        invalid: NO_INVALID,
      },
    };
    const result: PublishResult = { messageId, correlationId, deliveries: targets.length };
    if (mustWait) return this.enqueueWhenRoom(targets, envelope, operation).then(() => result);
    this.publishing++;
    try {
      for (const target of targets) target.enqueue(envelope);
    } finally {
      this.publishing--;
      operation.end();
      this.notifyIfIdle();
    }
    return result;
  }

  /** The slow path of `deliver`: waits for room at each full target in turn. */
  private async enqueueWhenRoom(
    targets: Subscription[],
    envelope: Envelope,
    operation: PublishOperation,
  ): Promise<void> {
    this.publishing++;
    try {
      for (const target of targets) {
        if (target.isFull) await target.waitForRoom();
        target.enqueue(envelope);
      }
    } finally {
      this.publishing--;
      operation.end();
      this.notifyIfIdle();
    }
  }

  private reportHandlerError(error: unknown, info: HandlerErrorInfo): void {
    const callback = this.onErrorCallback;
    if (!callback) return;
    try {
      callback(error, info);
    } catch (callbackError) {
      this.instr.guard.warnOnce(
        'onError',
        `the onError callback of bus "${this.name}" threw: ${String(callbackError)}`,
      );
    }
  }

  private async publishDeadLetter(
    topic: string,
    message: BusMessage,
    error: unknown,
    failedContext: Context,
    from: Subscription,
  ): Promise<void> {
    const headers = deadLetterHeaders(message.headers, {
      reason: 'max_attempts',
      error,
      attempts: message.attempt,
      source: message.topic,
      group: from.options.group,
      at: Date.now(),
    });
    try {
      // Not rejected for a full queue nor a closing bus: a dead letter must not be lost on the way.
      await this.deliver(
        topic,
        message.payload,
        { headers, correlationId: message.correlationId },
        failedContext,
        true,
      );
    } catch (publishError) {
      this.instr.guard.warnOnce(
        'dead-letter',
        `could not dead-letter to "${topic}": ${String(publishError)}`,
      );
    }
  }
}

/** Round-robin over the group's matching members, skipping full queues while another has room. */
function pickMember(cursor: GroupCursor, members: Subscription[]): Subscription {
  const at = cursor.next++;
  for (let i = 0; i < members.length; i++) {
    const member = members[(at + i) % members.length] as Subscription;
    if (!member.isFull) return member;
  }
  return members[at % members.length] as Subscription;
}
