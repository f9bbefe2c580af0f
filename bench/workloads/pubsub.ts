/**
 * Pub/Sub round trip on the project's fake server (Google's `pstest`, HOPTRACE_PUBSUB_EMULATOR_HOST), one
 * process: a Topic publishes 256-byte messages with `publishMessage` (the client's default batching; at
 * most `WINDOW` messages published and not yet handled) while a streaming-pull Subscription (flow control
 * `WINDOW` messages) acks each message in its `message` listener. Throughput from the first publish to
 * the last message handled; latency: one message at a time through a Topic that sends each message at
 * once (`batching.maxMessages` 1, so the batching timer is not measured), publish to listener. Every
 * message is counted by its ID: a lost or duplicated message fails the run.
 *
 * The fake server is in-memory Go on the same machine: throughput and latency are the fake's and this
 * client's together; the client's CPU per message (this process only) is the figure to compare by.
 *
 * Modes: raw `@google-cloud/pubsub`; the attributes floor (raw plus a traceparent and a correlation ID
 * as message attributes, read in the listener, no spans); the client's own OpenTelemetry tracing
 * (`enableOpenTelemetryTracing: true`, the tracer provider registered globally); hoptrace's
 * `instrumentPubSub`. Traced modes sample every span.
 */
import { randomUUID } from 'node:crypto';
import type * as PubSubModule from '@google-cloud/pubsub';
import type { ClientConfig, Message, PubSub, Subscription, Topic } from '@google-cloud/pubsub';
import { trace } from '@opentelemetry/api';
import { createOpenMetricsRegistry } from '../../instrumentation/core/metrics.js';
import { instrumentPubSub } from '../../instrumentation/pubsub/index.js';
import { stackEndpoint } from '../../test/helpers/env.js';
import {
  benchTracing,
  FLOOR_CORRELATION_ID,
  FLOOR_TRACEPARENT,
  loadClient,
  type ModeResult,
  Progress,
  quantile,
  workload,
} from '../harness.js';

const MESSAGES = 10_000;
const WINDOW = 1_000;
const WARMUP = 1_000;
const LATENCY_SAMPLES = 500;
const LOSS_TIMEOUT_MS = 60_000;
const DATA = Buffer.alloc(256, 'x');
const PROJECT_ID = 'hoptrace-bench';

process.env.METADATA_SERVER_DETECTION ??= 'none';

interface Setup {
  config?: ClientConfig;
  /** Wraps the client that publishes and subscribes (hoptrace). */
  wrap?: (pubsub: PubSub) => PubSub;
  /** Message attributes to publish (the floor). */
  attributes?: Record<string, string>;
  spans?: () => Promise<number>;
}

function newClient(config: ClientConfig = {}): PubSub {
  const { PubSub } = loadClient<typeof PubSubModule>('@google-cloud/pubsub');
  return new PubSub({
    projectId: PROJECT_ID,
    apiEndpoint: stackEndpoint('HOPTRACE_PUBSUB_EMULATOR_HOST'),
    emulatorMode: true,
    ...config,
  });
}

class RoundTrip {
  consumed = 0;
  duplicates = 0;
  private sent = 0;
  private failure: Error | undefined;
  private readonly seen = new Set<string>();
  private readonly progress = new Progress();

  constructor(
    private readonly setup: Setup,
    private readonly batched: Topic,
    private readonly unbatched: Topic,
    subscription: Subscription,
  ) {
    const read = setup.attributes ? Object.keys(setup.attributes) : undefined;
    subscription.on('message', (message: Message) => {
      if (read) for (const name of read) message.attributes[name];
      if (this.seen.has(message.id)) this.duplicates++;
      else this.seen.add(message.id);
      message.ack();
      this.consumed++;
      this.progress.notify();
    });
    subscription.on('error', (err: Error) => this.fail(err));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.progress.notify();
  }

  private publish(topic: Topic): void {
    this.sent++;
    topic
      .publishMessage({ data: DATA, attributes: this.setup.attributes })
      .catch((err: Error) => this.fail(err));
  }

  /** Publishes `count` messages with at most `window` unhandled; resolves when all were handled. */
  async run(count: number, window: number): Promise<void> {
    const target = this.sent + count;
    while (this.sent < target) {
      if (this.sent - this.consumed >= window)
        await this.progress.until(() => this.failure !== undefined || this.sent - this.consumed < window / 2);
      if (this.failure) throw this.failure;
      this.publish(this.batched);
    }
    await this.settled();
  }

  /** Round-trip times (us) of `count` messages published one at a time. */
  async latencies(count: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = process.hrtime.bigint();
      this.publish(this.unbatched);
      await this.settled();
      out.push(Number(process.hrtime.bigint() - started) / 1000);
    }
    return out;
  }

  /** Waits until everything published was handled; a message not back within the timeout fails the run. */
  private async settled(): Promise<void> {
    await this.progress.untilOrLost(
      () => this.failure !== undefined || this.consumed >= this.sent,
      LOSS_TIMEOUT_MS,
      () => `published ${this.sent}, handled ${this.consumed}`,
    );
    if (this.failure) throw this.failure;
    if (this.consumed !== this.sent || this.duplicates > 0)
      throw new Error(`published ${this.sent}, handled ${this.consumed}, duplicates ${this.duplicates}`);
  }
}

async function measure(setup: Setup, scale: number): Promise<ModeResult> {
  const admin = newClient();
  const name = `bench-${randomUUID()}`;
  const [topic] = await admin.createTopic(name);
  await admin.createSubscription(topic, name);
  const plain = newClient(setup.config);
  const pubsub = setup.wrap ? setup.wrap(plain) : plain;
  const subscription = pubsub.subscription(name, { flowControl: { maxMessages: WINDOW } });
  const trip = new RoundTrip(
    setup,
    pubsub.topic(name),
    pubsub.topic(name, { batching: { maxMessages: 1 } }),
    subscription,
  );
  try {
    await trip.run(WARMUP, WINDOW);
    const count = Math.round(MESSAGES * scale);
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    await trip.run(count, WINDOW);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const { user, system } = process.cpuUsage(cpu);
    await trip.latencies(50);
    const latencies = await trip.latencies(Math.max(100, Math.round(LATENCY_SAMPLES * scale)));
    const spans = setup.spans ? await setup.spans() : 0;
    return {
      unit: 'msgs_per_s',
      value: count / seconds,
      extra: {
        cpu_us_per_msg: (user + system) / count,
        p50_us: quantile(latencies, 0.5),
        p99_us: quantile(latencies, 0.99),
        messages: trip.consumed,
        spans,
        rss_mb: process.memoryUsage().rss / 2 ** 20,
      },
    };
  } finally {
    await subscription.close().catch(() => undefined);
    await admin
      .subscription(name)
      .delete()
      .catch(() => undefined);
    await topic.delete().catch(() => undefined);
    await pubsub.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}

function traced(): { provider: ReturnType<typeof benchTracing>['provider']; spans: () => Promise<number> } {
  const { provider, exporter } = benchTracing(true);
  return {
    provider,
    spans: async () => {
      await provider.forceFlush();
      return exporter.exported;
    },
  };
}

workload({
  raw: (scale) => measure({}, scale),

  'attributes-floor': (scale) =>
    measure(
      { attributes: { traceparent: FLOOR_TRACEPARENT, 'x-correlation-id': FLOOR_CORRELATION_ID } },
      scale,
    ),

  async 'pubsub-otel'(scale) {
    const { provider, spans } = traced();
    trace.setGlobalTracerProvider(provider);
    return measure({ config: { enableOpenTelemetryTracing: true }, spans }, scale);
  },

  async hoptrace(scale) {
    const { provider, spans } = traced();
    const options = { tracerProvider: provider, registry: createOpenMetricsRegistry() };
    return measure({ wrap: (pubsub) => instrumentPubSub(pubsub, options), spans }, scale);
  },
});
