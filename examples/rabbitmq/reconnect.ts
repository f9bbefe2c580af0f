/**
 * A publisher and a consumer that survive a RabbitMQ restart, written with nothing but amqplib and one
 * `instrumentAmqp` line per connection. Copy it into your service; it uses only API that amqplib 0.10, 1.x
 * and 2.x share (the tests run it on 2.x).
 *
 * The publisher uses a confirm channel: `publish` resolves once the broker confirmed the message and
 * retries it (same `messageId`) on a new connection when the confirm is lost, so every message is
 * delivered at least once. A message whose confirm was lost may already be in the queue; the retry then
 * makes a second copy, which consumers can recognise by its `messageId` (this is why the ID is set once,
 * before the first attempt).
 *
 * The consumer acks after the handler resolved and nacks to the dead-letter exchange (requeue=false) when
 * it throws. On a lost connection it reconnects, declares its topology again and consumes again; the
 * broker redelivers everything that was not acked, with `redelivered` set. An ack that fails because the
 * channel just closed is dropped: that message comes back as a redelivery.
 *
 *   const publisher = startReconnectingPublisher({ url, setup: declare, instrument: (c) => instrumentAmqp(c) });
 *   await publisher.publish('', 'orders', Buffer.from(body), { persistent: true });
 *   const consumer = startReconnectingConsumer({ url, setup: declare, instrument: (c) => instrumentAmqp(c) },
 *     'orders', async (msg) => handle(msg));
 *   await consumer.close(); await publisher.close();
 *
 * Log lines never contain the URL (it carries the password): only the host and port.
 */
import { randomUUID } from 'node:crypto';
import amqplib, { type Channel, type ChannelModel, type ConsumeMessage, type Options } from 'amqplib';

export interface ReconnectOptions {
  /** amqp://user:password@host:port/vhost */
  url: string;
  /** Runs on every new channel before it is used: declare exchanges, queues and bindings here (idempotent). */
  setup?: (channel: Channel) => Promise<void>;
  /** Wraps every new connection; pass `(c) => instrumentAmqp(c, options)` to trace it. */
  instrument?: (connection: ChannelModel) => ChannelModel;
  /** First delay between connection attempts; doubles up to `maxDelayMs`. Default 100 ms. */
  minDelayMs?: number;
  /** Default 5000 ms. */
  maxDelayMs?: number;
  /** Consumer only: unacked deliveries at once. Default 20. */
  prefetch?: number;
  /** Where state changes are reported; default silent. */
  log?: (line: string) => void;
}

/** `host:port` of an AMQP URL: safe to log (no user, no password). */
export function describeBroker(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5672'}`;
  } catch {
    return 'the broker';
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * One connection at a time, re-opened with exponential backoff whenever it closes, until `close()`.
 * `open` creates the channel(s) a role needs on each new connection.
 */
class Reconnector<T> {
  private current: Promise<T> | undefined;
  private connection: ChannelModel | undefined;
  private readonly stopped = new AbortController();
  private readonly broker: string;

  constructor(
    private readonly options: ReconnectOptions,
    private readonly open: (connection: ChannelModel) => Promise<T>,
  ) {
    this.broker = describeBroker(options.url);
  }

  get closed(): boolean {
    return this.stopped.signal.aborted;
  }

  /** The live value, waiting for a connection while there is none. Rejects only after `close()`. */
  get(): Promise<T> {
    if (this.closed) return Promise.reject(new Error('closed'));
    this.current ??= this.connect();
    return this.current;
  }

  /** Waits `ms`, or less when `close()` is called meanwhile. */
  pause(ms: number): Promise<void> {
    return sleep(ms, this.stopped.signal);
  }

  async close(): Promise<void> {
    this.stopped.abort();
    const connection = this.connection;
    this.current = undefined;
    this.connection = undefined;
    await connection?.close().catch(() => undefined);
  }

  private async connect(): Promise<T> {
    const { minDelayMs = 100, maxDelayMs = 5000, log } = this.options;
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new Error('closed');
      let connection: ChannelModel | undefined;
      try {
        const raw = await amqplib.connect(this.options.url);
        connection = this.options.instrument ? this.options.instrument(raw) : raw;
        // 'error' always comes with 'close'; without a listener it would crash the process.
        connection.on('error', () => undefined);
        connection.on('close', () => {
          if (this.connection !== connection || this.closed) return;
          log?.(`connection to ${this.broker} lost; reconnecting`);
          this.current = undefined;
          this.connection = undefined;
          void this.get().catch(() => undefined); // reconnect now, not at the next publish
        });
        const value = await this.open(connection);
        if (this.closed) {
          await connection.close().catch(() => undefined);
          throw new Error('closed');
        }
        this.connection = connection;
        if (attempt > 1) log?.(`connected to ${this.broker} after ${attempt} attempts`);
        return value;
      } catch (err) {
        await connection?.close().catch(() => undefined);
        if (this.closed) throw err;
        const delay = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt - 1, 16));
        log?.(`cannot reach ${this.broker} (${(err as Error).message}); retrying in ${delay} ms`);
        await sleep(delay, this.stopped.signal);
      }
    }
  }
}

/**
 * A channel can close on its own (a channel-level error such as a missing exchange): close its connection
 * too, so the reconnect logic, which follows connections, starts over.
 */
function watchChannel(connection: ChannelModel, channel: Channel): void {
  channel.on('error', () => undefined);
  channel.on('close', () => void connection.close().catch(() => undefined));
}

export interface ReconnectingPublisher {
  /**
   * Publishes and resolves once the broker confirmed it, retrying on new connections as long as it takes.
   * Resolves to the number of attempts (1 unless a confirm was lost). Rejects only after `close()`.
   */
  publish(exchange: string, routingKey: string, content: Buffer, options?: Options.Publish): Promise<number>;
  close(): Promise<void>;
}

export function startReconnectingPublisher(options: ReconnectOptions): ReconnectingPublisher {
  const reconnector = new Reconnector(options, async (connection) => {
    const channel = await connection.createConfirmChannel();
    watchChannel(connection, channel);
    await options.setup?.(channel);
    return channel;
  });
  void reconnector.get().catch(() => undefined);

  return {
    async publish(exchange, routingKey, content, publishOptions = {}) {
      // One ID for every attempt, so a copy made by a retry is recognisable.
      const sent = { ...publishOptions, messageId: publishOptions.messageId ?? randomUUID() };
      for (let attempt = 1; ; attempt++) {
        const channel = await reconnector.get();
        try {
          await new Promise<void>((resolve, reject) => {
            channel.publish(exchange, routingKey, content, sent, (err) => (err ? reject(err) : resolve()));
          });
          return attempt;
        } catch (err) {
          // Nacked by the broker, or the channel closed before the confirm: try again (on a new channel
          // once the old one is gone), a little later each time.
          if (reconnector.closed) throw err;
          await reconnector.pause(Math.min(1000, 20 * attempt));
        }
      }
    },
    close: () => reconnector.close(),
  };
}

export interface ReconnectingConsumer {
  /** Stops consuming; deliveries in flight are not acked (the broker redelivers them). */
  close(): Promise<void>;
}

export function startReconnectingConsumer(
  options: ReconnectOptions,
  queue: string,
  handler: (message: ConsumeMessage) => Promise<void>,
): ReconnectingConsumer {
  const reconnector = new Reconnector(options, async (connection) => {
    const channel = await connection.createChannel();
    watchChannel(connection, channel);
    await options.setup?.(channel);
    await channel.prefetch(options.prefetch ?? 20);
    await channel.consume(queue, (message) => {
      // Returning the promise lets hoptrace time the whole handling (amqplib itself ignores it).
      if (message) return handle(channel, message);
      // null: the broker cancelled the consumer (its queue was deleted): start over on a new connection.
      else void connection.close().catch(() => undefined);
    });
    return channel;
  });

  const settle = (_channel: Channel, action: () => void) => {
    try {
      action();
    } catch {
      // The channel closed while the handler ran: the broker redelivers the message.
    }
  };
  const handle = async (channel: Channel, message: ConsumeMessage) => {
    try {
      await handler(message);
    } catch (err) {
      options.log?.(`handler failed for message ${message.properties.messageId}: ${(err as Error).message}`);
      settle(channel, () => channel.nack(message, false, false));
      return;
    }
    settle(channel, () => channel.ack(message));
  };

  void reconnector.get().catch(() => undefined);
  return { close: () => reconnector.close() };
}
