/**
 * kafkajs produce + consume in one process: a producer sends 256-byte messages in batches of `SEND_BATCH`
 * (at most `WINDOW` unconsumed) to a one-partition topic while a consumer group reads them with
 * `eachMessage` or `eachBatch` (the workload argument). Throughput from the first send to the last
 * message handled; the group join and a warm-up batch come before the clock starts.
 *
 * Modes: raw kafkajs; the headers-only floor (raw plus a traceparent and a correlation ID header per
 * message); the contract's wire format (raw plus exactly the headers hoptrace writes, fixed values, no
 * spans: the lean set, since 0.2); the same plus the contract's spans made with the SDK directly
 * (`contractSpans`); 0.1's full wire format (`headers-full`: plus `baggage`, `x-hoptrace-published-at` and
 * a first hop's `x-hoptrace-origin-at`); kafkajs with `@opentelemetry/instrumentation-kafkajs`; kafkajs wrapped by hoptrace's
 * `instrumentKafka` (`eachBatch` handlers run each message through `withMessageContext`, so every message
 * gets its own process span, as contrib gives it). Traced modes sample every span.
 */
import { randomUUID } from 'node:crypto';
import type * as KafkaJs from 'kafkajs';
import { createOpenMetricsRegistry } from '../../instrumentation/core/metrics.js';
import { instrumentKafka, withMessageContext } from '../../instrumentation/kafka/index.js';
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
  workload,
} from '../harness.js';

const MESSAGES = 50_000;
const SEND_BATCH = 100;
const WINDOW = 5_000;
const WARMUP = 5_000;
const BODY = Buffer.alloc(256, 'x');

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

type Style = 'each-message' | 'each-batch';
type RunMessage = (message: KafkaJs.KafkaMessage, handle: () => void) => void;

interface Setup {
  kafka: KafkaJs.Kafka;
  headers?: () => KafkaJs.IHeaders;
  /** How an `eachBatch` handler runs one message (hoptrace: in the message's own delivery). */
  runMessage?: RunMessage;
  spans?: () => Promise<number>;
  /** The contract's spans made with the SDK directly (the contract-spans mode). */
  made?: ReturnType<typeof contractSpans>;
}

function styleOf(args: string[]): Style {
  const style = args[0] ?? 'each-message';
  if (style !== 'each-message' && style !== 'each-batch') throw new Error(`unknown consumer style ${style}`);
  return style;
}

function newKafka(kafkajs: typeof KafkaJs): KafkaJs.Kafka {
  return new kafkajs.Kafka({
    clientId: 'hoptrace-bench',
    brokers: stackEndpoint('HOPTRACE_KAFKA_BROKERS').split(','),
    logLevel: kafkajs.logLevel.NOTHING,
  });
}

async function measure(setup: Setup, style: Style, scale: number): Promise<ModeResult> {
  const { kafka } = setup;
  const topic = `bench-${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });

  let consumed = 0;
  const progress = new Progress();
  const consumer = kafka.consumer({ groupId: `bench-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const runMessage: RunMessage = setup.runMessage ?? ((_message, handle) => handle());
  const handle = () => {
    consumed++;
  };
  await consumer.run(
    style === 'each-message'
      ? {
          eachMessage: async () => {
            const span = setup.made?.startProcess();
            consumed++;
            progress.notify();
            span?.end();
          },
        }
      : {
          eachBatch: async ({ batch }) => {
            const batchSpan = setup.made?.startProcess();
            for (const message of batch.messages) runMessage(message, handle);
            progress.notify();
            batchSpan?.end();
          },
        },
  );

  const producer = kafka.producer();
  await producer.connect();
  let sent = 0;
  const produce = async (count: number) => {
    const target = consumed + count;
    while (sent < target) {
      if (sent - consumed >= WINDOW) await progress.until(() => sent - consumed < WINDOW / 2);
      const size = Math.min(SEND_BATCH, target - sent);
      const messages: KafkaJs.Message[] = [];
      for (let i = 0; i < size; i++) messages.push({ value: BODY, headers: setup.headers?.() });
      const spans = setup.made ? messages.map(() => setup.made?.startSend()) : [];
      await producer.send({ topic, messages });
      for (const span of spans) span?.end();
      sent += size;
    }
    await progress.until(() => consumed >= target);
  };

  await produce(WARMUP);
  const count = Math.round(MESSAGES * scale);
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await produce(count);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { user, system } = process.cpuUsage(cpu);

  await producer.disconnect();
  await consumer.disconnect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  const spans = setup.spans ? await setup.spans() : 0;
  return {
    unit: 'msgs_per_s',
    value: count / seconds,
    extra: { cpu_us_per_msg: (user + system) / count, spans, rss_mb: process.memoryUsage().rss / 2 ** 20 },
  };
}

/** Raw kafkajs writing exactly the headers hoptrace writes; with `spans`, the contract's spans too. */
function contract(scale: number, args: string[], spans: boolean, full = false): Promise<ModeResult> {
  const made = spans ? contractSpans('kafka', 'bench') : undefined;
  const publishedAt = String(Date.now());
  // The contract's lean set: the record timestamp (CreateTime) carries the publish time.
  const leanHeaders = {
    traceparent: FLOOR_TRACEPARENT,
    'x-correlation-id': FLOOR_CORRELATION_ID,
    'x-hoptrace-message-id': FLOOR_MESSAGE_ID,
  };
  // What 0.1 wrote: also `baggage` (repeats the correlation ID), published-at and a first hop's origin-at.
  const fullHeaders = {
    ...leanHeaders,
    baggage: `correlation.id=${FLOOR_CORRELATION_ID}`,
    'x-hoptrace-published-at': publishedAt,
    'x-hoptrace-origin-at': publishedAt,
  };
  const headers = () => ({ ...(full ? fullHeaders : leanHeaders) });
  // eachBatch: a batch span plus one span per message, as hoptrace's withMessageContext gives.
  const runMessage: RunMessage | undefined = made
    ? (_message, handle) => {
        const span = made.startProcess();
        handle();
        span.end();
      }
    : undefined;
  return measure(
    { kafka: newKafka(loadClient('kafkajs')), headers, made, runMessage, spans: made?.spans },
    styleOf(args),
    scale,
  );
}

workload({
  async raw(scale, args) {
    return measure({ kafka: newKafka(loadClient('kafkajs')) }, styleOf(args), scale);
  },

  async 'headers-floor'(scale, args) {
    const headers = () => ({ traceparent: FLOOR_TRACEPARENT, 'x-correlation-id': FLOOR_CORRELATION_ID });
    return measure({ kafka: newKafka(loadClient('kafkajs')), headers }, styleOf(args), scale);
  },

  'headers-contract': (scale, args) => contract(scale, args, false),
  'headers-full': (scale, args) => contract(scale, args, false, true),
  'contract-spans': (scale, args) => contract(scale, args, true),

  async 'otel-contrib'(scale, args) {
    const { provider, exporter } = benchTracing(true);
    const { KafkaJsInstrumentation } = await import('@opentelemetry/instrumentation-kafkajs');
    const instrumentation = new KafkaJsInstrumentation();
    instrumentation.setTracerProvider(provider);
    instrumentation.enable();
    const spans = async () => {
      await provider.forceFlush();
      return exporter.exported;
    };
    return measure({ kafka: newKafka(loadClient('kafkajs')), spans }, styleOf(args), scale);
  },

  async hoptrace(scale, args) {
    const { provider, exporter } = benchTracing(true);
    const kafka = instrumentKafka(newKafka(loadClient('kafkajs')), {
      tracerProvider: provider,
      registry: createOpenMetricsRegistry(),
    });
    const spans = async () => {
      await provider.forceFlush();
      return exporter.exported;
    };
    const runMessage: RunMessage = (message, handle) => withMessageContext(message, handle);
    return measure({ kafka, runMessage, spans }, styleOf(args), scale);
  },
});
