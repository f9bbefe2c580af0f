/**
 * Instrumenting the toy client with `hoptrace/transport`: the same headers, spans and metrics as
 * hoptrace's own transports. Walked through in docs/transport.md; tested in transport.test.ts.
 */
import {
  createInstrumentation,
  type InstrumentationOptions,
  runHandler,
  startDelivery,
  startPublish,
} from '../../instrumentation/transport/index.js'; // in an application: from 'hoptrace/transport'
import type { ToyClient, ToyHandler, ToyMessage, ToyPublishOptions } from './toy-client.js';

/** What publish hooks see as `info.message`. */
export interface ToyPublication {
  subject: string;
  data: string;
}

export function instrumentToy(
  client: ToyClient,
  options?: InstrumentationOptions<ToyPublication, ToyMessage>,
): ToyClient {
  // 1. Resolve the options once: tracer, metrics, guard, correlation header, hooks.
  const instr = createInstrumentation<ToyPublication, ToyMessage>('toy', 'toy', options);

  // 2. Publish: a PRODUCER span, hoptrace's headers on a copy of the caller's, the sent metrics.
  const publish = async (subject: string, data: string, opts: ToyPublishOptions = {}): Promise<void> => {
    const operation = startPublish(instr, {
      destination: subject,
      operationName: 'publish',
      headers: opts.headers,
      message: { subject, data },
    });
    try {
      await client.publish(subject, data, { ...opts, headers: operation.headers as Record<string, string> });
      operation.end();
    } catch (error) {
      operation.end(error);
      throw error;
    }
  };

  // 3. Consume: one delivery per message, the handler run in its context, one outcome per delivery.
  const subscribe = (subject: string, handler: ToyHandler): (() => void) =>
    client.subscribe(subject, (message) => {
      const delivery = startDelivery(instr, {
        destination: message.subject,
        headers: message.headers,
        messageId: String(message.id),
        attempt: message.redelivered ? 2 : 1,
        redelivered: message.redelivered,
        message,
        // The outcome is known when the handler finishes: no settle timer.
        settleTimeoutMs: false,
      });
      return runHandler(instr.guard, delivery, () => handler(message), {
        succeeded: () => delivery.settle('ack'),
        // The toy client redelivers a failed message once, then drops it.
        failed: (error) => delivery.settle(message.redelivered ? 'error' : 'retry', { error }),
      });
    });

  // 4. The same client, two methods traced; everything else passes through.
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'publish') return publish;
      if (prop === 'subscribe') return subscribe;
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
