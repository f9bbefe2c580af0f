/**
 * The producer side: every message a Topic hands to its Publisher (`publishMessage`, `publish`,
 * `publishJSON`, `flowControlled().publish`) gets a `send {topic}` span and the trace context in a copy
 * of its attributes. The span ends when Pub/Sub returns the message ID. Batching, flow control and
 * ordering keys are the client's, untouched: the message goes through the same call with the same
 * callback or promise.
 */
import type { Attributes } from '@opentelemetry/api';
import { context } from '@opentelemetry/api';
import {
  ATTR_HOPTRACE_PROPAGATION_DROPPED,
  ATTR_MESSAGING_GCP_PUBSUB_ORDERING_KEY,
  ATTR_MESSAGING_MESSAGE_BODY_SIZE,
  ATTR_MESSAGING_MESSAGE_ID,
} from '../core/semconv.js';
import { shallowCopy, startPublish } from '../transport/index.js';
import type { PublisherLike, PubSubWrapContext } from './internal-types.js';
import type { PubSubPublishMessage } from './types.js';
import { addClientTraceparent, budgetAttributes, shortName } from './utils.js';

interface OutgoingMessage {
  data?: Uint8Array | null;
  attributes?: Record<string, unknown> | null;
  orderingKey?: string | null;
}

export function wrapPublisher<T extends object>(ctx: PubSubWrapContext, publisher: T): T {
  const existing = ctx.wrappers.get(publisher);
  if (existing) return existing as T;
  const raw = publisher as unknown as PublisherLike;
  // A publisher's topic never changes: its short name once, not a getter and a regex per message.
  let topic: string | undefined;
  const publishMessage = (...args: unknown[]) => {
    topic ??= shortName(raw.topic?.name);
    return publishTraced(ctx, raw, args, topic);
  };
  const proxy = new Proxy(publisher, {
    get(target, prop) {
      if (prop === 'publishMessage') return publishMessage;
      return Reflect.get(target, prop, target);
    },
  });
  ctx.wrappers.set(publisher, proxy);
  ctx.wrapped.add(proxy);
  return proxy;
}

function publishTraced(
  ctx: PubSubWrapContext,
  publisher: PublisherLike,
  args: unknown[],
  topic: string,
): unknown {
  const message = args[0] as OutgoingMessage | undefined;
  const callerAttributes = message && typeof message === 'object' ? (message.attributes ?? {}) : undefined;
  // Leave what the client would reject (no data and no attributes, bad arguments) to the client, unchanged.
  if (
    !message ||
    typeof callerAttributes !== 'object' ||
    (!message.data && Object.keys(callerAttributes).length === 0)
  ) {
    return publisher.publishMessage(...args);
  }
  const { instr } = ctx;
  const attributes: Attributes = {};
  if (message.data) attributes[ATTR_MESSAGING_MESSAGE_BODY_SIZE] = message.data.byteLength;
  if (message.orderingKey) attributes[ATTR_MESSAGING_GCP_PUBSUB_ORDERING_KEY] = message.orderingKey;
  const op = startPublish(instr, {
    destination: topic,
    operationName: 'send',
    headers: callerAttributes,
    brokerPublishTime: true,
    attributes,
    message: { topic, message } as PubSubPublishMessage,
  });

  let outgoing: OutgoingMessage = message;
  let wroteClientTraceparent: string | undefined;
  try {
    const budget = budgetAttributes(callerAttributes, op.headers, instr.correlationHeader);
    if (budget.dropped > 0) op.span.setAttribute(ATTR_HOPTRACE_PROPAGATION_DROPPED, budget.dropped);
    if (ctx.clientTraceContext && addClientTraceparent(budget.attributes, budget.attributes.traceparent)) {
      wroteClientTraceparent = budget.attributes.traceparent as string;
    }
    outgoing = shallowCopy(message);
    outgoing.attributes = budget.attributes;
  } catch (err) {
    instr.guard.report('publish attributes', err);
  }

  const done = (error: unknown, id: unknown) => {
    try {
      if (typeof id === 'string') op.span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, id);
    } catch (err) {
      instr.guard.report('publish end', err);
    }
    op.end(error ?? undefined);
  };
  const callback = typeof args[1] === 'function' ? (args[1] as (...a: unknown[]) => unknown) : undefined;
  const callArgs = [...args];
  callArgs[0] = outgoing;
  if (callback) {
    callArgs[1] = (error: unknown, id: unknown, ...rest: unknown[]) => {
      done(error, id);
      return callback(error, id, ...rest);
    };
  }

  let result: unknown;
  try {
    // The client's own tracing (when on) starts its `create` span in the active context: under ours.
    result = context.with(op.context, () => publisher.publishMessage(...callArgs));
  } catch (err) {
    op.end(err);
    throw err;
  }
  if (
    wroteClientTraceparent !== undefined &&
    outgoing.attributes?.googclient_traceparent !== wroteClientTraceparent
  ) {
    // The client's tracing is on (it is process-wide) and replaced ours: leave that attribute to it from now on.
    ctx.clientTraceContext = false;
  }
  if (!callback && isThenable(result)) {
    // A new promise with the same value or rejection: unobserved, it is unhandled exactly as before.
    return result.then(
      (id: unknown) => {
        done(undefined, id);
        return id;
      },
      (error: unknown) => {
        done(error, undefined);
        throw error;
      },
    );
  }
  return result;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
