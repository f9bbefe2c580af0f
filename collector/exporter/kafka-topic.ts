/**
 * Scale-out through a Kafka topic. Instances that receive OTLP (`ingest`) publish the normalized
 * messaging spans to a topic, keyed by the flow's correlation ID, and answer the OTLP request once
 * Kafka has them. Instances that link (`link`) consume the topic in one consumer group: Kafka
 * assigns each partition to one instance, and since every span of a flow carries the same key, a
 * flow's publishes and deliveries meet in one instance's linker, whatever instance received them.
 *
 * Spans without a correlation ID are keyed by the producer's trace ID (a delivery's link or own
 * trace), which keeps a publish and its deliveries together. Delivery is at least once: a span read
 * twice after a rebalance is recognised by its span ID.
 */
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { ATTR_MESSAGING_MESSAGE_CONVERSATION_ID } from '../../instrumentation/core/semconv.js';
import type { ResolvedConfig } from '../config.js';
import { ConfigError, OverloadedError } from '../errors.js';
import { roleOf } from '../linker/classify.js';
import type { CollectorMetrics } from '../metrics.js';
import { deserializeRecord, serializeRecord } from '../otlp/records.js';
import { logger } from '../server.js';
import type { SpanRecord, SpanSink } from '../types.js';

type ScaleOutConfig = NonNullable<ResolvedConfig['scaleOut']>;

/** Partitions of the topic when the collector creates it. */
export const DEFAULT_PARTITIONS = 12;

/** The partition key that brings a flow's publishes and deliveries to one instance. */
export function partitionKey(span: SpanRecord): string {
  const correlationId = span.attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID];
  if (typeof correlationId === 'string' && correlationId !== '') return correlationId;
  if (roleOf(span) === 'delivery' && span.parentSpanId === undefined && span.links.length > 0) {
    return span.links[0].traceId; // link mode: the producer's trace
  }
  return span.traceId;
}

export interface KafkaTopicScaleOut {
  /** For the OTLP route when this instance ingests: publishes to the topic. */
  readonly sink: SpanSink | undefined;
  /** Ready: producer connected (ingest) and partitions assigned (link). */
  readiness(): Record<string, true | string>;
  close(): Promise<void>;
}

async function loadKafka(config: ScaleOutConfig): Promise<Kafka> {
  let kafkajs: typeof import('kafkajs');
  try {
    kafkajs = await import('kafkajs');
  } catch {
    throw new ConfigError('scaleOut.kafka needs the kafkajs package: npm install kafkajs');
  }
  return new kafkajs.Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 200 },
  });
}

async function ensureTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      await admin.createTopics({
        topics: [{ topic, numPartitions: DEFAULT_PARTITIONS }],
        waitForLeaders: true,
      });
    }
  } finally {
    await admin.disconnect();
  }
}

export async function startKafkaTopicScaleOut(
  config: ScaleOutConfig,
  metrics: CollectorMetrics,
  onSpans: (spans: SpanRecord[]) => void,
): Promise<KafkaTopicScaleOut> {
  const kafka = await loadKafka(config);
  const { CompressionTypes } = await import('kafkajs');
  await ensureTopic(kafka, config.topic);
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  let assigned = false;
  try {
    if (config.ingest) {
      producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
    }
    if (config.link) {
      consumer = kafka.consumer({ groupId: config.groupId });
      consumer.on(consumer.events.GROUP_JOIN, () => {
        assigned = true;
      });
      consumer.on(consumer.events.CRASH, (event) => {
        assigned = false;
        metrics.up.set({ source: 'scaleout' }, 0);
        logger.error(`scale-out consumer crashed: ${String(event.payload.error)}`);
      });
      await consumer.connect();
      await consumer.subscribe({ topic: config.topic, fromBeginning: false });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          const spans: SpanRecord[] = [];
          for (const message of batch.messages) {
            try {
              spans.push(deserializeRecord(message.value?.toString('utf8') ?? ''));
            } catch {
              metrics.spansDropped.inc({ reason: 'scaleout_invalid' });
            }
          }
          metrics.spansReceived.inc({ source: 'kafka' }, spans.length);
          try {
            onSpans(spans);
          } catch (err) {
            // Re-reading the batch would fail the same way: log and move on.
            logger.error('linking spans from the scale-out topic failed', err);
          }
          metrics.lastSuccess.set({ source: 'scaleout' }, Date.now() / 1000);
        },
      });
    }
  } catch (err) {
    await Promise.allSettled([producer?.disconnect(), consumer?.disconnect()]);
    throw err;
  }
  metrics.up.set({ source: 'scaleout' }, 1);

  const sink: SpanSink | undefined = producer && {
    messagingOnly: true,
    async accept(spans) {
      if (spans.length === 0) return;
      try {
        await producer.send({
          topic: config.topic,
          compression: CompressionTypes.GZIP,
          messages: spans.map((span) => ({ key: partitionKey(span), value: serializeRecord(span) })),
        });
        metrics.up.set({ source: 'scaleout' }, 1);
        metrics.lastSuccess.set({ source: 'scaleout' }, Date.now() / 1000);
      } catch (err) {
        metrics.up.set({ source: 'scaleout' }, 0);
        logger.warn(`publishing spans to ${config.topic} failed: ${(err as Error).message}`);
        // The client keeps the spans and retries: nothing is lost, nothing is dropped here.
        throw new OverloadedError('the scale-out topic is not available', 503, 5);
      }
    },
  };

  return {
    sink,
    readiness() {
      const checks: Record<string, true | string> = {};
      if (config.ingest) checks.scaleout_producer = producer ? true : 'not connected';
      if (config.link) checks.scaleout_consumer = assigned ? true : 'not yet in the consumer group';
      return checks;
    },
    async close() {
      await Promise.allSettled([consumer?.disconnect(), producer?.disconnect()]);
    },
  };
}
