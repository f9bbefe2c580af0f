/**
 * `instrumentPubSub(pubsub)`: a proxy of the `PubSub` client whose topics and subscriptions are traced.
 * Nothing is patched: the proxy hands out proxies of the Topics and Subscriptions it creates (directly,
 * or through `createTopic`, `createSubscription`, `getTopics`, `getSubscriptions`, `topic.subscription`,
 * which the client builds through `this.topic()` / `this.subscription()`), and a Topic's proxy hands its
 * Publisher out behind one more proxy whose `publishMessage` is traced. Every other property is the
 * client's own.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { MESSAGING_SYSTEM_GCP_PUBSUB } from '../core/semconv.js';
import {
  createInstrumentation,
  DEFAULT_SETTLE_TIMEOUT_MS,
  RULES,
  resolveOption,
  warnPolicy,
} from '../transport/index.js';
import type { PubSubWrapContext } from './internal-types.js';
import { wrapPublisher } from './publisher.js';
import { wrapSubscription } from './subscriber.js';
import type { PubSubConsumeMessage, PubSubInstrumentationOptions, PubSubPublishMessage } from './types.js';

type AnyFunction = (...args: unknown[]) => unknown;

/** Wraps a `@google-cloud/pubsub` `PubSub` client; the result keeps its API and types. */
export function instrumentPubSub<T extends PubSub>(pubsub: T, options: PubSubInstrumentationOptions = {}): T {
  const ctx = createWrapContext(options, pubsub);
  if (!pubsub || typeof pubsub !== 'object') {
    ctx.instr.guard.warnOnce('target', 'instrumentPubSub expects a PubSub client; returned it unchanged');
    return pubsub;
  }
  return wrapClient(ctx, pubsub);
}

/** Resolves the options once (bad values: warned about, defaults used). */
export function createWrapContext(
  options: PubSubInstrumentationOptions = {},
  pubsub?: unknown,
): PubSubWrapContext {
  const instr = createInstrumentation<PubSubPublishMessage, PubSubConsumeMessage>(
    'pubsub',
    MESSAGING_SYSTEM_GCP_PUBSUB,
    options,
  );
  const opts = typeof options === 'object' && options !== null ? options : {};
  const policy = warnPolicy(instr.guard);
  const settleTimeoutMs = resolveOption(
    policy,
    'settleTimeoutMs',
    opts.settleTimeoutMs,
    RULES.positiveNumber,
    DEFAULT_SETTLE_TIMEOUT_MS,
  );
  const flag = (name: 'fetchSubscriptionMetadata' | 'clientTraceContext'): boolean =>
    resolveOption(policy, name, opts[name], RULES.boolean, true);
  const clientTracing = (pubsub as { options?: { enableOpenTelemetryTracing?: unknown } } | undefined)
    ?.options?.enableOpenTelemetryTracing;
  return {
    instr,
    settleTimeoutMs,
    fetchSubscriptionMetadata: flag('fetchSubscriptionMetadata'),
    // With the client's own tracing on, it writes `googclient_traceparent` itself (under hoptrace's span).
    clientTraceContext: flag('clientTraceContext') && clientTracing !== true,
    wrappers: new WeakMap(),
    wrapped: new WeakSet(),
  };
}

function wrapClient<T extends object>(ctx: PubSubWrapContext, pubsub: T): T {
  const methods = new Map<PropertyKey, AnyFunction>();
  const proxy: T = new Proxy(pubsub, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function' || (prop !== 'topic' && prop !== 'subscription')) return value;
      let method = methods.get(prop);
      if (!method) {
        const wrapResult = prop === 'topic' ? wrapTopic : wrapSubscription;
        // Called on the proxy, so the Topic or Subscription keeps the proxy as its `pubsub`.
        method = function (this: unknown, ...args: unknown[]) {
          const result = (value as AnyFunction).apply(this === proxy ? proxy : this, args);
          return result && typeof result === 'object' ? wrapResult(ctx, result) : result;
        };
        methods.set(prop, method);
      }
      return method;
    },
  });
  ctx.wrapped.add(proxy);
  return proxy;
}

function wrapTopic<T extends object>(ctx: PubSubWrapContext, topic: T): T {
  if (ctx.wrapped.has(topic)) return topic;
  const existing = ctx.wrappers.get(topic);
  if (existing) return existing as T;
  let subscription: AnyFunction | undefined;
  const proxy = new Proxy(topic, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === 'publisher' && value && typeof value === 'object') return wrapPublisher(ctx, value);
      if (prop === 'subscription' && typeof value === 'function') {
        subscription ??= function (this: unknown, ...args: unknown[]) {
          const result = (value as AnyFunction).apply(this === proxy ? proxy : this, args);
          return result && typeof result === 'object' ? wrapSubscription(ctx, result) : result;
        };
        return subscription;
      }
      return value;
    },
  });
  ctx.wrappers.set(topic, proxy);
  ctx.wrapped.add(proxy);
  return proxy;
}
