/**
 * An instrumented amqplib Channel or ConfirmChannel (promise or callback API): a pass-through stand-in
 * whose publishing, consuming, settling and queue-declaring methods are traced. Everything else,
 * including events and `instanceof`, reaches the original channel untouched.
 */
import { destinationPlaceholder, NAMED_DESTINATION } from '../transport/index.js';
import { Consumer, type QueueRef } from './consumer.js';
import { type AnyFunction, createPassThrough } from './proxy.js';
import { Publisher } from './publisher.js';
import type { AmqpSettings } from './settings.js';
import { queueTraits, topology } from './topology.js';

export interface ChannelState {
  readonly kind: 'channel';
  readonly settings: AmqpSettings;
}

// biome-ignore lint/suspicious/noExplicitAny: amqplib channels are loosely typed at this level.
type RawChannel = Record<string, any>;

const wrappedChannels = new WeakMap<object, object>();

/** amqplib's reading of the `requeue` argument: true unless given and falsy. */
const requeueOf = (requeue: unknown) => requeue === undefined || Boolean(requeue);

export function isChannelLike(value: unknown): boolean {
  const ch = value as RawChannel | null;
  return (
    ch !== null &&
    typeof ch === 'object' &&
    typeof ch.publish === 'function' &&
    typeof ch.consume === 'function' &&
    typeof ch.ack === 'function'
  );
}

/** The stand-in for `channel`; the same one every time the same channel is wrapped. */
export function wrapChannel<T extends object>(channel: T, settings: AmqpSettings): T {
  const existing = wrappedChannels.get(channel);
  if (existing) return existing as T;
  const proxy = createPassThrough(channel, { kind: 'channel', settings } satisfies ChannelState, (stand) =>
    channelOverrides(channel, stand, settings),
  );
  wrappedChannels.set(channel, proxy);
  return proxy;
}

function channelOverrides(
  target: RawChannel,
  proxy: object,
  settings: AmqpSettings,
): Record<string, AnyFunction> {
  const { guard } = settings.instr;
  const confirmChannel = typeof target.waitForConfirms === 'function';
  const publisher = new Publisher(settings, target as never, confirmChannel);
  const consumer = new Consumer(settings, target as never);
  /** The queue an empty queue name refers to: AMQP's "last queue declared on this channel". */
  let lastDeclaredQueue: string | undefined;
  const self = (result: unknown) => (result === target ? proxy : result);
  const queueName = (queue: unknown) =>
    typeof queue === 'string' && queue.length > 0 ? queue : (lastDeclaredQueue ?? '');
  /** The queue as spans and labels show it; a throwing `temporaryQueues` function counts as no answer. */
  const queueRef = (queue: unknown): QueueRef => {
    const name = queueName(queue);
    const traits = guard.run(
      'temporaryQueues',
      () => queueTraits(name, settings.temporaryQueue),
      () => queueTraits(name, undefined),
    );
    return { name, traits, label: destinationPlaceholder(traits) ?? name };
  };
  const noAckOf = (options: unknown) =>
    options !== null && typeof options === 'object' && (options as { noAck?: unknown }).noAck === true;

  return {
    publish: (...args: unknown[]) => publisher.publish(args),
    sendToQueue: (...args: unknown[]) => publisher.sendToQueue(args),

    consume(...args: unknown[]) {
      const [queue, handler, options] = args;
      if (typeof handler === 'function') {
        const wrapped = guard.run(
          'consume',
          () => consumer.wrapHandler(queueRef(queue), handler as AnyFunction, noAckOf(options)),
          () => handler as AnyFunction,
        );
        args = [...args];
        args[1] = wrapped;
      }
      return self(target.consume(...args));
    },

    get(...args: unknown[]) {
      const [queue, options, callback] = args;
      const name = guard.run(
        'get',
        () => queueRef(queue),
        () => ({ name: '', traits: NAMED_DESTINATION, label: '' }),
      );
      const noAck = noAckOf(options);
      if (typeof callback === 'function') {
        // Callback API: get(queue, options, cb(err, message | false)).
        args = [...args];
        args[2] = (err: unknown, message: unknown, ...rest: unknown[]) => {
          if (!err && message) guard.do('get', () => consumer.received(message, name, noAck));
          return (callback as AnyFunction)(err, message, ...rest);
        };
        return self(target.get(...args));
      }
      const result = target.get(...args);
      if (!result || typeof result.then !== 'function') return self(result);
      return result.then((message: unknown) => {
        if (message) guard.do('get', () => consumer.received(message, name, noAck));
        return message;
      });
    },

    // Per message: plain try/catch and guard.report rather than guard closures.
    ack(...args: unknown[]) {
      const result = target.ack(...args);
      try {
        consumer.settle(args[0], Boolean(args[1]), 'ack', false);
      } catch (err) {
        guard.report('ack', err);
      }
      return self(result);
    },
    nack(...args: unknown[]) {
      const result = target.nack(...args);
      try {
        consumer.settle(args[0], Boolean(args[1]), 'negative', requeueOf(args[2]));
      } catch (err) {
        guard.report('nack', err);
      }
      return self(result);
    },
    reject(...args: unknown[]) {
      const result = target.reject(...args);
      try {
        consumer.settle(args[0], false, 'negative', requeueOf(args[1]));
      } catch (err) {
        guard.report('reject', err);
      }
      return self(result);
    },
    ackAll(...args: unknown[]) {
      const result = target.ackAll(...args);
      guard.do('ackAll', () => consumer.settleAll('ack', false));
      return self(result);
    },
    nackAll(...args: unknown[]) {
      const result = target.nackAll(...args);
      guard.do('nackAll', () => consumer.settleAll('negative', requeueOf(args[0])));
      return self(result);
    },

    assertQueue(...args: unknown[]) {
      const [queue, options, callback] = args;
      const learn = (reply: unknown) =>
        guard.do('assertQueue', () => {
          const declared = (reply as { queue?: unknown } | undefined)?.queue;
          const name = typeof declared === 'string' && declared.length > 0 ? declared : queue;
          if (typeof name !== 'string' || name.length === 0) return;
          lastDeclaredQueue = name;
          topology.declared(name, options, typeof queue !== 'string' || queue.length === 0);
        });
      if (typeof callback === 'function') {
        args = [...args];
        args[2] = (err: unknown, reply: unknown, ...rest: unknown[]) => {
          if (!err) learn(reply);
          return (callback as AnyFunction)(err, reply, ...rest);
        };
        return self(target.assertQueue(...args));
      }
      const result = target.assertQueue(...args);
      if (!result || typeof result.then !== 'function') return self(result);
      return result.then((reply: unknown) => {
        learn(reply);
        return reply;
      });
    },

    recover(...args: unknown[]) {
      // basic.recover requeues every delivery unacknowledged at this point (redeliveries get new tags).
      const result = target.recover(...args);
      guard.do('recover', () => consumer.settleAll('negative', true));
      return self(result);
    },

    deleteQueue(...args: unknown[]) {
      const queue = args[0];
      guard.do('deleteQueue', () => {
        if (typeof queue === 'string') topology.deleted(queue);
      });
      return self(target.deleteQueue(...args));
    },
  };
}
