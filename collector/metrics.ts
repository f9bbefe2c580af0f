/**
 * The collector's own metrics (prom-client), in one private OpenMetrics registry (exemplars need it).
 * The rules shared with applications come from the core: `/metrics` is rendered by `renderMetrics` (one
 * format negotiation), label values from spans are bounded by the core's `LabelLimiter`, and the lag
 * gauges are the core's `lagGauges` (one definition with the bus and `registerLagMetrics`).
 */
import client from 'prom-client';
import { LabelLimiter } from '../instrumentation/core/label-limiter.js';
import {
  LAG_LABELS,
  type LagLabel,
  type LagLabels,
  type LagStatusLabel,
  lagGauges,
  type SecondsAging,
} from '../instrumentation/core/lag-gauges.js';
import { renderMetrics } from '../instrumentation/core/metrics-format.js';
import {
  LABEL_COLLECTOR_SOURCE,
  LABEL_CONSUMER_GROUP,
  LABEL_CONSUMER_SERVICE,
  LABEL_DEAD_LETTER_SOURCE,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  LABEL_PARTITION,
  LABEL_PRODUCER_SERVICE,
  LABEL_QUEUE_STATE,
  LABEL_REASON,
  METRIC_COLLECTOR_EVICTIONS,
  METRIC_COLLECTOR_LAST_SUCCESS,
  METRIC_COLLECTOR_SPANS_DROPPED,
  METRIC_COLLECTOR_SPANS_RECEIVED,
  METRIC_COLLECTOR_TRACKED_MESSAGES,
  METRIC_COLLECTOR_UP,
  METRIC_DEAD_LETTER_HOPS,
  METRIC_DLQ_MESSAGES,
  METRIC_DUPLICATE_DELIVERIES,
  METRIC_FANOUT_DELIVERIES,
  METRIC_HOP_LATENCY,
  METRIC_KAFKA_GROUP_LAG_MAX,
  METRIC_KAFKA_GROUP_LAG_SUM,
  METRIC_KAFKA_GROUP_LOST_MESSAGES,
  METRIC_KAFKA_GROUP_MEMBERS,
  METRIC_KAFKA_GROUP_OFFSET,
  METRIC_KAFKA_GROUP_STATE,
  METRIC_KAFKA_GROUP_UNCOMMITTED,
  METRIC_KAFKA_PARTITION_OFFSET,
  METRIC_KAFKA_PARTITION_OLDEST_OFFSET,
  METRIC_ORPHAN_DELIVERIES,
  METRIC_QUEUE_CONSUMERS,
  METRIC_QUEUE_MESSAGES,
  METRIC_QUEUE_OLDEST_AGE,
  METRIC_QUEUE_PAUSED,
  METRIC_UNCONSUMED,
} from '../instrumentation/core/semconv.js';
import type { KafkaGauges } from '../monitors/gauges.js';

const { Counter, Gauge, Histogram, Registry } = client;

export const HOP_LATENCY_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];
export const FANOUT_BUCKETS = [0, 1, 2, 3, 4, 5, 8, 10, 16, 32, 64];

/** Why spans were dropped (`hoptrace_collector_spans_dropped_total{reason}`). */
export type DropReason =
  | 'invalid'
  | 'forward_queue_full'
  | 'forward_failed'
  | 'forward_rejected'
  | 'scaleout_failed'
  | 'scaleout_invalid';

export type EvictionKind = 'publish' | 'pending_delivery' | 'journey';

const DELIVERY_LABELS = [LABEL_MESSAGING_SYSTEM, LABEL_DESTINATION, LABEL_CONSUMER_GROUP] as const;
const HOP_LABELS = [LABEL_PRODUCER_SERVICE, LABEL_CONSUMER_SERVICE, ...DELIVERY_LABELS] as const;
const PUBLISH_LABELS = [LABEL_MESSAGING_SYSTEM, LABEL_DESTINATION, LABEL_PRODUCER_SERVICE] as const;
const QUEUE_LABELS = [LABEL_MESSAGING_SYSTEM, LABEL_DESTINATION] as const;

type Labels<T extends readonly string[]> = Record<T[number], string>;

export interface RenderedMetrics {
  contentType: string;
  body: string;
}

export class CollectorMetrics {
  readonly registry = new Registry<client.OpenMetricsContentType>();
  readonly labels: LabelLimiter;

  readonly spansReceived: client.Counter<'source'>;
  readonly spansDropped: client.Counter<'reason'>;
  readonly up: client.Gauge<'source'>;
  readonly lastSuccess: client.Gauge<'source'>;
  readonly evictions: client.Counter<'kind'>;
  readonly trackedMessages: client.Gauge<'kind'>;

  readonly hopLatency: client.Histogram<(typeof HOP_LABELS)[number]>;
  readonly fanout: client.Histogram<(typeof PUBLISH_LABELS)[number]>;
  readonly unconsumed: client.Counter<(typeof PUBLISH_LABELS)[number]>;
  readonly orphans: client.Counter<(typeof DELIVERY_LABELS)[number] | 'consumer_service'>;
  readonly duplicates: client.Counter<(typeof DELIVERY_LABELS)[number] | 'consumer_service'>;
  readonly deadLetterHops: client.Counter<(typeof DELIVERY_LABELS)[number] | 'reason'>;

  readonly queueMessages: client.Gauge<(typeof QUEUE_LABELS)[number] | 'state'>;
  readonly queueConsumers: client.Gauge<(typeof QUEUE_LABELS)[number]>;
  readonly queueOldestAge: client.Gauge<(typeof QUEUE_LABELS)[number]>;
  readonly queuePaused: client.Gauge<(typeof QUEUE_LABELS)[number]>;
  readonly dlqMessages: client.Gauge<(typeof QUEUE_LABELS)[number] | 'dead_letter_source'>;
  readonly lagMessages: client.Gauge<LagLabel>;
  readonly lagSeconds: client.Gauge<LagLabel>;
  readonly lagStatus: client.Gauge<LagStatusLabel>;
  readonly lagSecondsAging: SecondsAging;
  readonly kafka: KafkaGauges;

  constructor(options: { maxLabelValues: number; trackedMessages?: () => Record<EvictionKind, number> }) {
    // Set once, before any metric is registered (exemplar metrics require it at registration).
    this.registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    this.labels = new LabelLimiter(options.maxLabelValues);
    const registers = [this.registry];
    this.spansReceived = new Counter({
      name: METRIC_COLLECTOR_SPANS_RECEIVED,
      help: 'Spans received, by source (otlp, kafka, sdk).',
      labelNames: [LABEL_COLLECTOR_SOURCE],
      registers,
    });
    this.spansDropped = new Counter({
      name: METRIC_COLLECTOR_SPANS_DROPPED,
      help: 'Spans dropped by the collector, by reason.',
      labelNames: [LABEL_REASON],
      registers,
    });
    this.up = new Gauge({
      name: METRIC_COLLECTOR_UP,
      help: '1 when the collector and each of its sources (broker monitors, forwarder) work, 0 when a source fails.',
      labelNames: [LABEL_COLLECTOR_SOURCE],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: METRIC_COLLECTOR_LAST_SUCCESS,
      help: 'Unix time of the last successful ingest, poll or forward, by source.',
      labelNames: [LABEL_COLLECTOR_SOURCE],
      registers,
    });
    this.evictions = new Counter({
      name: METRIC_COLLECTOR_EVICTIONS,
      help: 'Tracked entries evicted before their time because a memory bound was reached.',
      labelNames: ['kind'],
      registers,
    });
    const tracked = options.trackedMessages;
    this.trackedMessages = new Gauge({
      name: METRIC_COLLECTOR_TRACKED_MESSAGES,
      help: 'Entries the linker currently tracks, by kind.',
      labelNames: ['kind'],
      registers,
      collect() {
        if (!tracked) return;
        for (const [kind, value] of Object.entries(tracked())) this.set({ kind }, value);
      },
    });
    this.hopLatency = new Histogram({
      name: METRIC_HOP_LATENCY,
      help: 'Publish start to consumer span start of each first delivery, from linked spans.',
      labelNames: [...HOP_LABELS],
      buckets: HOP_LATENCY_BUCKETS,
      enableExemplars: true,
      registers,
    });
    this.fanout = new Histogram({
      name: METRIC_FANOUT_DELIVERIES,
      help: 'Consumer groups that received each published message, observed at the unconsumed deadline.',
      labelNames: [...PUBLISH_LABELS],
      buckets: FANOUT_BUCKETS,
      registers,
    });
    this.unconsumed = new Counter({
      name: METRIC_UNCONSUMED,
      help: 'Published messages with no delivery before the unconsumed deadline.',
      labelNames: [...PUBLISH_LABELS],
      registers,
    });
    this.orphans = new Counter({
      name: METRIC_ORPHAN_DELIVERIES,
      help: 'Deliveries whose publish was not seen within the link window.',
      labelNames: [...DELIVERY_LABELS, LABEL_CONSUMER_SERVICE],
      registers,
    });
    this.duplicates = new Counter({
      name: METRIC_DUPLICATE_DELIVERIES,
      help: 'Second and later deliveries of one message to one consumer group that are not redeliveries.',
      labelNames: [...DELIVERY_LABELS, LABEL_CONSUMER_SERVICE],
      registers,
    });
    this.deadLetterHops = new Counter({
      name: METRIC_DEAD_LETTER_HOPS,
      help: 'Messages dead-lettered, seen in consumer spans (outcome dead_letter or a dead-letter reason).',
      labelNames: [...DELIVERY_LABELS, LABEL_REASON],
      registers,
    });
    this.queueMessages = new Gauge({
      name: METRIC_QUEUE_MESSAGES,
      help: 'Messages in a queue, by state (ready, unacked), from the broker.',
      labelNames: [...QUEUE_LABELS, LABEL_QUEUE_STATE],
      registers,
    });
    this.queueConsumers = new Gauge({
      name: METRIC_QUEUE_CONSUMERS,
      help: 'Consumers attached to a queue, from the broker.',
      labelNames: [...QUEUE_LABELS],
      registers,
    });
    this.queueOldestAge = new Gauge({
      name: METRIC_QUEUE_OLDEST_AGE,
      help: "Age of the queue's head message (from its timestamp property), seconds.",
      labelNames: [...QUEUE_LABELS],
      registers,
    });
    this.queuePaused = new Gauge({
      name: METRIC_QUEUE_PAUSED,
      help: 'Whether a queue is paused (1) or not (0), from the broker (BullMQ).',
      labelNames: [...QUEUE_LABELS],
      registers,
    });
    this.dlqMessages = new Gauge({
      name: METRIC_DLQ_MESSAGES,
      help: 'Messages in queues that are the dead-letter target of other queues.',
      labelNames: [...QUEUE_LABELS, LABEL_DEAD_LETTER_SOURCE],
      registers,
    });
    const lag = lagGauges(this.registry);
    this.lagMessages = lag.messages;
    this.lagSeconds = lag.seconds;
    this.lagStatus = lag.status;
    this.lagSecondsAging = lag.aging;
    const partitionLabels = [LABEL_MESSAGING_SYSTEM, LABEL_DESTINATION, LABEL_PARTITION] as const;
    const groupLabels = [LABEL_MESSAGING_SYSTEM, LABEL_CONSUMER_GROUP] as const;
    const groupTopicLabels = [LABEL_MESSAGING_SYSTEM, LABEL_DESTINATION, LABEL_CONSUMER_GROUP] as const;
    const gauge = <T extends string>(name: string, help: string, labelNames: readonly T[]) =>
      new Gauge<T>({ name, help, labelNames, registers });
    this.kafka = {
      groupOffset: gauge(
        METRIC_KAFKA_GROUP_OFFSET,
        'Committed offset of a consumer group, per partition (Kafka).',
        LAG_LABELS,
      ),
      groupLost: gauge(
        METRIC_KAFKA_GROUP_LOST_MESSAGES,
        'Messages deleted (retention) before the group read them: log start offset - committed offset, when above 0.',
        LAG_LABELS,
      ),
      partitionOffset: gauge(
        METRIC_KAFKA_PARTITION_OFFSET,
        'High watermark of a partition (Kafka).',
        partitionLabels,
      ),
      partitionOldest: gauge(
        METRIC_KAFKA_PARTITION_OLDEST_OFFSET,
        'Log start offset of a partition: the oldest record kept (Kafka).',
        partitionLabels,
      ),
      groupMembers: gauge(
        METRIC_KAFKA_GROUP_MEMBERS,
        'Active members of a consumer group (Kafka).',
        groupLabels,
      ),
      groupState: gauge(
        METRIC_KAFKA_GROUP_STATE,
        'State of a consumer group (Stable, Empty, PreparingRebalance, ...): 1 for the current state.',
        [...groupLabels, LABEL_QUEUE_STATE],
      ),
      groupUncommitted: gauge(
        METRIC_KAFKA_GROUP_UNCOMMITTED,
        'Partitions of a topic the group reads (commits or assignments) that it never committed.',
        groupTopicLabels,
      ),
      groupLagSum: gauge(
        METRIC_KAFKA_GROUP_LAG_SUM,
        "Consumer lag in messages summed over a topic's partitions.",
        groupTopicLabels,
      ),
      groupLagMax: gauge(
        METRIC_KAFKA_GROUP_LAG_MAX,
        "Largest consumer lag in messages among a topic's partitions.",
        groupTopicLabels,
      ),
    };
    this.up.set({ source: 'collector' }, 1);
  }

  /** A label value from span data, bounded per metric. */
  bounded(metric: string, label: string, value: string): string {
    return this.labels.bound(metric, label, value);
  }

  /** `/metrics`: Prometheus text or OpenMetrics by `Accept`, the same rule as applications' `renderMetrics`. */
  render(accept: string | undefined): Promise<RenderedMetrics> {
    return renderMetrics(this.registry, accept);
  }
}

export type HopLabels = Labels<typeof HOP_LABELS>;
export type PublishLabels = Labels<typeof PUBLISH_LABELS>;
export type { LagLabels };
