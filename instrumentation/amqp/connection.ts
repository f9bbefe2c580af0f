/**
 * An instrumented amqplib connection (`ChannelModel`, `CallbackModel` or a recovering connection): a
 * pass-through stand-in whose `createChannel` and `createConfirmChannel` hand out instrumented channels.
 */
import { wrapChannel } from './channel.js';
import { type AnyFunction, createPassThrough } from './proxy.js';
import type { AmqpSettings } from './settings.js';

export interface ConnectionState {
  readonly kind: 'connection';
  readonly settings: AmqpSettings;
}

// biome-ignore lint/suspicious/noExplicitAny: amqplib connections are loosely typed at this level.
type RawConnection = Record<string, any>;

const wrappedConnections = new WeakMap<object, object>();

export function isConnectionLike(value: unknown): boolean {
  const conn = value as RawConnection | null;
  return conn !== null && typeof conn === 'object' && typeof conn.createChannel === 'function';
}

export function wrapConnection<T extends object>(connection: T, settings: AmqpSettings): T {
  const existing = wrappedConnections.get(connection);
  if (existing) return existing as T;
  const target = connection as RawConnection;
  const proxy = createPassThrough(
    connection,
    { kind: 'connection', settings } satisfies ConnectionState,
    (stand) => {
      const wrap = (channel: unknown) =>
        channel !== null && typeof channel === 'object' ? wrapChannel(channel, settings) : channel;
      const open = (method: 'createChannel' | 'createConfirmChannel', args: unknown[]) => {
        const last = args.length - 1;
        const callback = args[last];
        if (typeof callback === 'function') {
          // Callback API: createChannel([options,] cb(err, channel)); it also returns the channel.
          args = [...args];
          args[last] = (err: unknown, channel: unknown, ...rest: unknown[]) =>
            (callback as AnyFunction)(err, err ? channel : wrap(channel), ...rest);
        }
        const result = target[method](...args);
        if (result === target) return stand;
        if (result && typeof result.then === 'function') return result.then(wrap);
        return wrap(result);
      };
      return {
        createChannel: (...args: unknown[]) => open('createChannel', args),
        createConfirmChannel: (...args: unknown[]) => open('createConfirmChannel', args),
      };
    },
  );
  wrappedConnections.set(connection, proxy);
  return proxy;
}
