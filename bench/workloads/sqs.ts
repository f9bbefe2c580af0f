/**
 * SQS round trip on the project's emulator (moto, HOPTRACE_SQS_ENDPOINT), one process: a producer sends
 * 256-byte messages with `SendMessageBatch` (10 entries a call: the throughput path SQS's per-request
 * pricing and limits push a producer to; at most `WINDOW` messages unconsumed), while `CONSUMERS` loops
 * receive (`ReceiveMessage`, long poll, up to 10) and delete what they got with one `DeleteMessageBatch`.
 * Throughput from the first send to the last delete; latency: one message at a time with `SendMessage`
 * (a single event's path), send to its delete. Every message is counted by its ID: a lost or duplicated
 * message fails the run.
 *
 * moto is a Python server and bounds the throughput (each call is an HTTP request it parses, signs and
 * stores): throughput and latency say more about moto than about the client; the client's CPU per
 * message (this process only) is the figure to compare the modes by.
 *
 * Modes: raw `@aws-sdk/client-sqs`; the attributes floor (raw plus a traceparent and a correlation ID as
 * message attributes, asked for and read on receive, no spans); `@opentelemetry/instrumentation-aws-sdk`
 * (a span per command, context in message attributes); hoptrace's `instrumentSqs` (a producer span per
 * message, a receive span per non-empty poll, a process span per message from receive to delete).
 * Traced modes sample every span.
 */
import { randomUUID } from 'node:crypto';
import type * as Sqs from '@aws-sdk/client-sqs';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { instrumentSqs } from '../../instrumentation/aws/index.js';
import { createOpenMetricsRegistry } from '../../instrumentation/core/metrics.js';
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

const MESSAGES = 2_000;
const SEND_BATCH = 10;
const WINDOW = 100;
const WARMUP = 100;
const CONSUMERS = 1;
const LATENCY_SAMPLES = 200;
const WAIT_SECONDS = 1;
const LOSS_TIMEOUT_MS = 60_000;
const BODY = 'x'.repeat(256);

interface Setup {
  /** The client's module, loaded after the mode's instrumentation. */
  sqs: typeof Sqs;
  /** Wraps a new client (hoptrace). */
  wrap?: (client: Sqs.SQSClient) => Sqs.SQSClient;
  /** Message attributes to send (the floor). */
  attributes?: Record<string, Sqs.MessageAttributeValue>;
  /** Attribute names to ask for on receive, read from each message (the floor). */
  read?: string[];
  spans?: () => Promise<number>;
}

function clientConfig() {
  return {
    endpoint: stackEndpoint('HOPTRACE_SQS_ENDPOINT'),
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
}

class RoundTrip {
  consumed = 0;
  duplicates = 0;
  private sent = 0;
  private stopped = false;
  private readonly seen = new Set<string>();
  private readonly progress = new Progress();
  private loops: Promise<void>[] = [];

  constructor(
    private readonly setup: Setup,
    private readonly client: Sqs.SQSClient,
    private readonly queueUrl: string,
  ) {}

  start(): void {
    for (let i = 0; i < CONSUMERS; i++) this.loops.push(this.consume());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async consume(): Promise<void> {
    const { sqs, read } = this.setup;
    while (!this.stopped) {
      const { Messages = [] } = await this.client.send(
        new sqs.ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: WAIT_SECONDS,
          MessageAttributeNames: read,
        }),
      );
      if (Messages.length === 0) continue;
      for (const message of Messages) {
        if (read) for (const name of read) message.MessageAttributes?.[name]?.StringValue;
        const id = message.MessageId as string;
        if (this.seen.has(id)) this.duplicates++;
        else this.seen.add(id);
      }
      const deleted = await this.client.send(
        new sqs.DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      if (deleted.Failed && deleted.Failed.length > 0)
        throw new Error(`DeleteMessageBatch failed for ${deleted.Failed.length} entries`);
      this.consumed += Messages.length;
      this.progress.notify();
    }
  }

  private entry(id: number): Sqs.SendMessageBatchRequestEntry {
    return { Id: String(id), MessageBody: BODY, MessageAttributes: this.setup.attributes };
  }

  /** Sends `count` messages in batches with at most `window` unconsumed; resolves when all are deleted. */
  async run(count: number, window: number): Promise<void> {
    const { sqs } = this.setup;
    const target = this.sent + count;
    while (this.sent < target) {
      if (this.sent - this.consumed >= window)
        await this.progress.until(() => this.sent - this.consumed < window / 2);
      const n = Math.min(SEND_BATCH, target - this.sent);
      const entries: Sqs.SendMessageBatchRequestEntry[] = [];
      for (let i = 0; i < n; i++) entries.push(this.entry(i));
      const sent = await this.client.send(
        new sqs.SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
      );
      if (sent.Failed && sent.Failed.length > 0)
        throw new Error(`SendMessageBatch failed for ${sent.Failed.length} entries`);
      this.sent += n;
    }
    await this.settled();
  }

  /** Round-trip times (us) of `count` messages sent one at a time with `SendMessage`. */
  async latencies(count: number): Promise<number[]> {
    const { sqs } = this.setup;
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = process.hrtime.bigint();
      await this.client.send(
        new sqs.SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: BODY,
          MessageAttributes: this.setup.attributes,
        }),
      );
      this.sent++;
      await this.settled();
      out.push(Number(process.hrtime.bigint() - started) / 1000);
    }
    return out;
  }

  /** Waits until everything sent was deleted; a message not back within the timeout fails the run. */
  private async settled(): Promise<void> {
    await this.progress.untilOrLost(
      () => this.consumed >= this.sent,
      LOSS_TIMEOUT_MS,
      () => `sent ${this.sent}, deleted ${this.consumed}`,
    );
    if (this.consumed !== this.sent || this.duplicates > 0)
      throw new Error(`sent ${this.sent}, deleted ${this.consumed}, duplicates ${this.duplicates}`);
  }
}

async function measure(setup: Setup, scale: number): Promise<ModeResult> {
  const { sqs } = setup;
  const admin = new sqs.SQSClient(clientConfig());
  const created = await admin.send(new sqs.CreateQueueCommand({ QueueName: `bench-${randomUUID()}` }));
  const queueUrl = created.QueueUrl as string;
  const plain = new sqs.SQSClient(clientConfig());
  const client = setup.wrap ? setup.wrap(plain) : plain;
  const trip = new RoundTrip(setup, client, queueUrl);
  trip.start();
  try {
    await trip.run(WARMUP, WINDOW);
    const count = Math.round(MESSAGES * scale);
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    await trip.run(count, WINDOW);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const { user, system } = process.cpuUsage(cpu);
    await trip.latencies(20);
    const latencies = await trip.latencies(Math.max(50, Math.round(LATENCY_SAMPLES * scale)));
    await trip.stop();
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
    await trip.stop().catch(() => undefined);
    await admin.send(new sqs.DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
  }
}

const floorAttributes = {
  traceparent: { DataType: 'String', StringValue: FLOOR_TRACEPARENT },
  'x-correlation-id': { DataType: 'String', StringValue: FLOOR_CORRELATION_ID },
};

workload({
  raw: (scale) => measure({ sqs: loadClient<typeof Sqs>('@aws-sdk/client-sqs') }, scale),

  'attributes-floor': (scale) =>
    measure(
      {
        sqs: loadClient<typeof Sqs>('@aws-sdk/client-sqs'),
        attributes: floorAttributes,
        read: Object.keys(floorAttributes),
      },
      scale,
    ),

  async 'otel-contrib'(scale) {
    const { provider, exporter } = benchTracing(true);
    // Loaded by name, not imported: a checkout whose node_modules predates this devDependency still builds.
    const { AwsInstrumentation } = loadClient<{ AwsInstrumentation: new () => Instrumentation }>(
      '@opentelemetry/instrumentation-aws-sdk',
    );
    const instrumentation = new AwsInstrumentation();
    instrumentation.setTracerProvider(provider);
    instrumentation.enable();
    const spans = async () => {
      await provider.forceFlush();
      return exporter.exported;
    };
    return measure({ sqs: loadClient<typeof Sqs>('@aws-sdk/client-sqs'), spans }, scale);
  },

  async hoptrace(scale) {
    const { provider, exporter } = benchTracing(true);
    const options = { tracerProvider: provider, registry: createOpenMetricsRegistry() };
    const spans = async () => {
      await provider.forceFlush();
      return exporter.exported;
    };
    return measure(
      {
        sqs: loadClient<typeof Sqs>('@aws-sdk/client-sqs'),
        wrap: (client) => instrumentSqs(client, options),
        spans,
      },
      scale,
    );
  },
});
