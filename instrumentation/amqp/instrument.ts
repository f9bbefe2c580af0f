/** `instrumentAmqp`: the one entry point of `hoptrace/amqp`. */
import { guardFor } from '../transport/index.js';
import { type ChannelState, isChannelLike, wrapChannel } from './channel.js';
import { type ConnectionState, isConnectionLike, wrapConnection } from './connection.js';
import { wrappedState } from './proxy.js';
import { resolveSettings } from './settings.js';
import type { AmqpInstrumentationOptions } from './types.js';

/**
 * Traces an amqplib connection (every channel it creates) or one Channel / ConfirmChannel, promise or
 * callback API. Returns a stand-in with the same API and types: `instanceof`, events and every other
 * method pass through to the original. Wrapping the same object again returns the same stand-in
 * (the first options win). Anything else is returned unchanged, with a warning.
 */
export function instrumentAmqp<T>(target: T, options?: AmqpInstrumentationOptions): T {
  const guard = guardFor('amqp');
  return guard.run(
    'instrumentAmqp',
    () => {
      if (wrappedState<ChannelState | ConnectionState>(target)) {
        if (options !== undefined)
          guard.warnOnce('rewrap', 'instrumentAmqp: already instrumented; the new options are ignored');
        return target;
      }
      if (isChannelLike(target)) return wrapChannel(target as object, resolveSettings(options)) as T;
      if (isConnectionLike(target)) return wrapConnection(target as object, resolveSettings(options)) as T;
      guard.warnOnce(
        'not-amqp',
        'instrumentAmqp: expected an amqplib connection or channel; returning it unchanged',
      );
      return target;
    },
    () => target,
  );
}
