/**
 * amqplib round trip: one connection, a publisher channel and a consumer channel (prefetch 500, ack each)
 * on an exclusive queue, 256-byte messages. Throughput: N messages with at most `WINDOW` unconsumed at a
 * time, from the first publish to the last ack. Latency: one message at a time, publish to handler.
 *
 * Modes: raw amqplib; the headers-only floor (raw plus a header table holding only a traceparent and a
 * correlation ID: what any header-based tracing must pay amqplib to encode and decode); the contract's
 * wire format (raw plus exactly the headers and properties hoptrace writes, fixed values, no spans); the
 * same plus the contract's spans made with the SDK directly (`contractSpans`); 0.1's full wire format
 * (`headers-full`: plus `baggage` and a first hop's `x-hoptrace-origin-at`); amqplib with
 * `@opentelemetry/instrumentation-amqplib`; amqplib wrapped by hoptrace's `instrumentAmqp`. Traced modes
 * sample every span into a batch processor with a counting exporter.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type * as Amqplib from 'amqplib';
import { instrumentAmqp } from '../../instrumentation/amqp/index.js';
import { createOpenMetricsRegistry } from '../../instrumentation/core/metrics.js';
import { stackEndpoint } from '../../test/helpers/env.js';
import {
  benchTracing,
  contractSpans,
  FLOOR_CORRELATION_ID,
  FLOOR_MESSAGE_ID,
  FLOOR_TRACEPARENT,
  loadClient,
  type ModeResult,
  Progress,
  quantile,
  workload,
} from '../harness.js';

const MESSAGES = 50_000;
const PREFETCH = 500;
const WINDOW = 5_000;
const WARMUP = 5_000;
const LATENCY_SAMPLES = 2_000;
const BODY = Buffer.alloc(256, 'x');

type Connection = Amqplib.ChannelModel;
type PublishOptions = () => Amqplib.Options.Publish | undefined;

interface Setup {
  /** Opens a connection (instrumented in traced modes). */
  connect(socketOptions?: object): Promise<Connection>;
  options: PublishOptions;
  /** Spans exported so far (traced modes). */
  spans?: () => Promise<number>;
  /** Spans made around each publish and each delivery (the contract-spans mode). */
  around?: { send<T>(fn: () => T): T; process<T>(fn: () => T): T };
}

class RoundTrip {
  private consumed = 0;
  private readonly progress = new Progress();

  private constructor(
    private readonly publisher: Amqplib.Channel,
    private readonly queue: string,
    private readonly options: PublishOptions,
    private readonly around: Setup['around'],
  ) {}

  static async open(connection: Connection, setup: Setup): Promise<RoundTrip> {
    const publisher = await connection.createChannel();
    const consumer = await connection.createChannel();
    const queue = `bench-${randomUUID()}`;
    await consumer.assertQueue(queue, { exclusive: true, autoDelete: true, durable: false });
    await consumer.prefetch(PREFETCH);
    const trip = new RoundTrip(publisher, queue, setup.options, setup.around);
    const handle = (message: Amqplib.ConsumeMessage) => {
      consumer.ack(message);
      trip.consumed++;
      trip.progress.notify();
    };
    await consumer.consume(queue, (message) => {
      if (!message) return;
      if (setup.around) setup.around.process(() => handle(message));
      else handle(message);
    });
    return trip;
  }

  /** Publishes `count` messages with at most `window` unconsumed; resolves when all are consumed. */
  async run(count: number, window: number): Promise<void> {
    const target = this.consumed + count;
    let sent = this.consumed;
    while (sent < target) {
      if (sent - this.consumed >= window) await this.progress.until(() => sent - this.consumed < window / 2);
      const send = () => this.publisher.sendToQueue(this.queue, BODY, this.options());
      if (!(this.around ? this.around.send(send) : send())) await once(this.publisher, 'drain');
      sent++;
    }
    await this.progress.until(() => this.consumed >= target);
  }

  /** Round-trip times (us) of `count` messages sent one at a time. */
  async latencies(count: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = process.hrtime.bigint();
      await this.run(1, 1);
      out.push(Number(process.hrtime.bigint() - started) / 1000);
    }
    return out;
  }
}

async function measure(setup: Setup, scale: number): Promise<ModeResult> {
  const connection = await setup.connect();
  const trip = await RoundTrip.open(connection, setup);
  const count = Math.round(MESSAGES * scale);
  await trip.run(WARMUP, WINDOW);
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await trip.run(count, WINDOW);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { user, system } = process.cpuUsage(cpu);
  await connection.close();

  // One message at a time on a connection without Nagle's algorithm, which would otherwise hold each
  // small frame back ~40 ms waiting for the peer's delayed ACK and hide every other cost.
  const unbuffered = await setup.connect({ noDelay: true });
  const single = await RoundTrip.open(unbuffered, setup);
  await single.latencies(200);
  const latencies = await single.latencies(Math.max(200, Math.round(LATENCY_SAMPLES * scale)));
  await unbuffered.close();
  const spans = setup.spans ? await setup.spans() : 0;
  return {
    unit: 'msgs_per_s',
    value: count / seconds,
    extra: {
      cpu_us_per_msg: (user + system) / count,
      p50_us: quantile(latencies, 0.5),
      p99_us: quantile(latencies, 0.99),
      spans,
      rss_mb: process.memoryUsage().rss / 2 ** 20,
    },
  };
}

const url = () => stackEndpoint('HOPTRACE_AMQP_URL');

/** The headers hoptrace writes on a flow's first message (lean, since 0.2); `full`: what 0.1 wrote. */
function contractHeaders(full: boolean): Record<string, string> {
  const publishedAt = String(Date.now());
  const headers: Record<string, string> = {
    traceparent: FLOOR_TRACEPARENT,
    'x-correlation-id': FLOOR_CORRELATION_ID,
    'x-hoptrace-published-at': publishedAt,
  };
  if (!full) return headers;
  // `baggage` repeats the correlation ID; on a first hop `origin-at` equals `published-at`.
  return {
    ...headers,
    baggage: `correlation.id=${FLOOR_CORRELATION_ID}`,
    'x-hoptrace-origin-at': publishedAt,
  };
}

/**
 * Raw amqplib writing exactly the headers and properties hoptrace writes (`full`: 0.1's set); with
 * `spans`, the contract's spans too.
 */
async function contract(scale: number, spans: boolean, full = false): Promise<ModeResult> {
  const made = spans ? contractSpans('rabbitmq', 'amq.default') : undefined;
  const amqplib = loadClient<typeof Amqplib>('amqplib');
  const headers = contractHeaders(full);
  const options = () => ({
    messageId: FLOOR_MESSAGE_ID,
    timestamp: Math.floor(Date.now() / 1000),
    headers,
  });
  const around = made && {
    send<T>(fn: () => T): T {
      const span = made.startSend();
      const result = fn();
      span.end();
      return result;
    },
    process<T>(fn: () => T): T {
      const span = made.startProcess();
      const result = fn();
      span.end();
      return result;
    },
  };
  return measure(
    { connect: (socket) => amqplib.connect(url(), socket), options, around, spans: made?.spans },
    scale,
  );
}

workload({
  async raw(scale) {
    const amqplib = loadClient<typeof Amqplib>('amqplib');
    return measure({ connect: (socket) => amqplib.connect(url(), socket), options: () => undefined }, scale);
  },

  async 'headers-floor'(scale) {
    const amqplib = loadClient<typeof Amqplib>('amqplib');
    const options = () => ({
      headers: { traceparent: FLOOR_TRACEPARENT, 'x-correlation-id': FLOOR_CORRELATION_ID },
    });
    return measure({ connect: (socket) => amqplib.connect(url(), socket), options }, scale);
  },

  'headers-contract': (scale) => contract(scale, false),
  'headers-full': (scale) => contract(scale, false, true),
  'contract-spans': (scale) => contract(scale, true),

  async 'otel-contrib'(scale) {
    const { provider, exporter } = benchTracing(true);
    const { AmqplibInstrumentation } = await import('@opentelemetry/instrumentation-amqplib');
    const instrumentation = new AmqplibInstrumentation();
    instrumentation.setTracerProvider(provider);
    instrumentation.enable();
    const amqplib = loadClient<typeof Amqplib>('amqplib');
    const spans = async () => {
      await provider.forceFlush();
      return exporter.exported;
    };
    return measure(
      { connect: (socket) => amqplib.connect(url(), socket), options: () => undefined, spans },
      scale,
    );
  },

  async hoptrace(scale) {
    const { provider, exporter } = benchTracing(true);
    const amqplib = loadClient<typeof Amqplib>('amqplib');
    const options = { tracerProvider: provider, registry: createOpenMetricsRegistry() };
    const spans = async () => {
      await provider.forceFlush();
      return exporter.exported;
    };
    return measure(
      {
        connect: async (socket) => instrumentAmqp(await amqplib.connect(url(), socket), options),
        options: () => undefined,
        spans,
      },
      scale,
    );
  },
});
