/**
 * Writes monitors' readings into the broker gauges (names and labels from core semconv). One
 * `ReadingRecorder` per monitor: several monitors share each gauge (consumer lag from RabbitMQ and
 * Kafka), and each removes only the series it set itself when they vanish from its readings.
 */
import type { Gauge } from 'prom-client';
import type { SecondsAging } from '../instrumentation/core/lag-gauges.js';
import {
  type LABEL_COLLECTOR_SOURCE,
  LABEL_CONSUMER_GROUP,
  LABEL_DEAD_LETTER_SOURCE,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  LABEL_PARTITION,
  LABEL_QUEUE_STATE,
  LAG_STATUS,
} from '../instrumentation/core/semconv.js';
import { GaugeSeries } from './series.js';
import type { BrokerReading } from './types.js';

type QueueLabel = typeof LABEL_MESSAGING_SYSTEM | typeof LABEL_DESTINATION;
type LagLabel = QueueLabel | typeof LABEL_CONSUMER_GROUP | typeof LABEL_PARTITION;
type GroupLabel = typeof LABEL_MESSAGING_SYSTEM | typeof LABEL_CONSUMER_GROUP;
type GroupDestinationLabel = QueueLabel | typeof LABEL_CONSUMER_GROUP;
type PartitionLabel = QueueLabel | typeof LABEL_PARTITION;

/** Kafka offsets and groups, kafka_exporter-style (names in core semconv, listed in docs/kafka.md). */
export interface KafkaGauges {
  /** `hoptrace_kafka_consumergroup_current_offset` */
  groupOffset: Gauge<LagLabel>;
  /** `hoptrace_kafka_consumergroup_lost_messages` */
  groupLost: Gauge<LagLabel>;
  /** `hoptrace_kafka_topic_partition_current_offset` */
  partitionOffset: Gauge<PartitionLabel>;
  /** `hoptrace_kafka_topic_partition_oldest_offset` */
  partitionOldest: Gauge<PartitionLabel>;
  /** `hoptrace_kafka_consumergroup_members` */
  groupMembers: Gauge<GroupLabel>;
  /** `hoptrace_kafka_consumergroup_state{state}` */
  groupState: Gauge<GroupLabel | typeof LABEL_QUEUE_STATE>;
  /** `hoptrace_kafka_consumergroup_uncommitted_partitions` */
  groupUncommitted: Gauge<GroupDestinationLabel>;
  /** `hoptrace_kafka_consumergroup_lag_sum` */
  groupLagSum: Gauge<GroupDestinationLabel>;
  /** `hoptrace_kafka_consumergroup_lag_max` */
  groupLagMax: Gauge<GroupDestinationLabel>;
}

/** The gauges readings go to (the collector's `CollectorMetrics` has them). */
export interface BrokerGauges {
  /** `hoptrace_queue_messages{state}` */
  queueMessages: Gauge<QueueLabel | typeof LABEL_QUEUE_STATE>;
  /** `hoptrace_queue_consumers` */
  queueConsumers: Gauge<QueueLabel>;
  /** `hoptrace_queue_oldest_message_age_seconds` */
  queueOldestAge: Gauge<QueueLabel>;
  /** `hoptrace_queue_paused` */
  queuePaused: Gauge<QueueLabel>;
  /** `hoptrace_dlq_messages{dead_letter_source}` */
  dlqMessages: Gauge<QueueLabel | typeof LABEL_DEAD_LETTER_SOURCE>;
  /** `hoptrace_consumer_lag_messages` */
  lagMessages: Gauge<LagLabel>;
  /** `hoptrace_consumer_lag_seconds` */
  lagSeconds: Gauge<LagLabel>;
  /** `hoptrace_consumer_lag_status` */
  lagStatus: Gauge<typeof LABEL_MESSAGING_SYSTEM | typeof LABEL_CONSUMER_GROUP>;
  /** Makes lag seconds age between polls (readings with `secondsAt`); without it they hold still. */
  lagSecondsAging?: SecondsAging;
  kafka?: KafkaGauges;
}

/** Per-source health: `hoptrace_collector_up{source}` and `..._last_success_timestamp_seconds{source}`. */
export interface MonitorHealthGauges {
  up: Gauge<typeof LABEL_COLLECTOR_SOURCE>;
  lastSuccess: Gauge<typeof LABEL_COLLECTOR_SOURCE>;
}

export type MonitorMetrics = BrokerGauges & MonitorHealthGauges;

export class ReadingRecorder {
  private readonly queueMessages: GaugeSeries<QueueLabel | typeof LABEL_QUEUE_STATE>;
  private readonly queueConsumers: GaugeSeries<QueueLabel>;
  private readonly oldestAge: GaugeSeries<QueueLabel>;
  private readonly paused: GaugeSeries<QueueLabel>;
  private readonly dlq: GaugeSeries<QueueLabel | typeof LABEL_DEAD_LETTER_SOURCE>;
  private readonly lagMessages: GaugeSeries<LagLabel>;
  private readonly lagSeconds: GaugeSeries<LagLabel>;
  private readonly status: GaugeSeries<typeof LABEL_MESSAGING_SYSTEM | typeof LABEL_CONSUMER_GROUP>;
  private readonly kafka: { [K in keyof KafkaGauges]: GaugeSeries<GaugeLabel<KafkaGauges[K]>> } | undefined;
  private readonly aging: SecondsAging | undefined;

  constructor(gauges: BrokerGauges) {
    this.aging = gauges.lagSecondsAging;
    const k = gauges.kafka;
    this.kafka = k && {
      groupOffset: new GaugeSeries(k.groupOffset),
      groupLost: new GaugeSeries(k.groupLost),
      partitionOffset: new GaugeSeries(k.partitionOffset),
      partitionOldest: new GaugeSeries(k.partitionOldest),
      groupMembers: new GaugeSeries(k.groupMembers),
      groupState: new GaugeSeries(k.groupState),
      groupUncommitted: new GaugeSeries(k.groupUncommitted),
      groupLagSum: new GaugeSeries(k.groupLagSum),
      groupLagMax: new GaugeSeries(k.groupLagMax),
    };
    this.queueMessages = new GaugeSeries(gauges.queueMessages);
    this.queueConsumers = new GaugeSeries(gauges.queueConsumers);
    this.oldestAge = new GaugeSeries(gauges.queueOldestAge);
    this.paused = new GaugeSeries(gauges.queuePaused);
    this.dlq = new GaugeSeries(gauges.dlqMessages);
    this.lagMessages = new GaugeSeries(gauges.lagMessages);
    const aging = this.aging;
    this.lagSeconds = new GaugeSeries(
      gauges.lagSeconds,
      aging && ((labels) => aging.remove(labels as Parameters<SecondsAging['remove']>[0])),
    );
    this.status = new GaugeSeries(gauges.lagStatus);
  }

  /** Sets every gauge in one synchronous step, so a scrape never sees half a reading. */
  record(reading: BrokerReading): void {
    const system = reading.system;
    for (const q of reading.queues ?? []) {
      const base = { [LABEL_MESSAGING_SYSTEM]: system, [LABEL_DESTINATION]: q.destination };
      this.queueMessages.set({ ...base, [LABEL_QUEUE_STATE]: 'ready' }, q.ready);
      this.queueMessages.set({ ...base, [LABEL_QUEUE_STATE]: 'unacked' }, q.unacked);
      if (q.delayed !== undefined)
        this.queueMessages.set({ ...base, [LABEL_QUEUE_STATE]: 'delayed' }, q.delayed);
      if (q.consumers !== undefined) this.queueConsumers.set(base, q.consumers);
      if (q.oldestAgeSeconds !== undefined) this.oldestAge.set(base, q.oldestAgeSeconds);
      for (const [state, count] of Object.entries(q.states ?? {}))
        this.queueMessages.set({ ...base, [LABEL_QUEUE_STATE]: state }, count);
      if (q.paused !== undefined) this.paused.set(base, q.paused ? 1 : 0);
      if (q.deadLetterSources && q.deadLetterSources.length > 0) {
        this.dlq.set(
          { ...base, [LABEL_DEAD_LETTER_SOURCE]: [...q.deadLetterSources].sort().join(',') },
          q.messages ?? q.ready + q.unacked,
        );
      }
    }
    for (const l of reading.lag ?? []) {
      const labels = {
        [LABEL_MESSAGING_SYSTEM]: system,
        [LABEL_DESTINATION]: l.destination,
        [LABEL_CONSUMER_GROUP]: l.group,
        [LABEL_PARTITION]: l.partition,
      };
      this.lagMessages.set(labels, l.messages);
      if (l.seconds !== undefined) {
        this.lagSeconds.set(labels, l.seconds);
        this.aging?.set(labels, l.seconds, l.secondsAt);
      } else {
        this.aging?.remove(labels);
      }
    }
    for (const g of reading.groups ?? []) {
      const labels = { [LABEL_MESSAGING_SYSTEM]: system, [LABEL_CONSUMER_GROUP]: g.group };
      if (g.status !== undefined) this.status.set(labels, LAG_STATUS[g.status]);
      if (g.members !== undefined) this.kafka?.groupMembers.set(labels, g.members);
      if (g.state !== undefined) this.kafka?.groupState.set({ ...labels, [LABEL_QUEUE_STATE]: g.state }, 1);
    }
    this.recordKafka(system, reading);
    for (const series of [
      ...Object.values(this.kafka ?? {}),
      this.queueMessages,
      this.queueConsumers,
      this.oldestAge,
      this.paused,
      this.dlq,
      this.lagMessages,
      this.lagSeconds,
      this.status,
    ]) {
      series.commit();
    }
  }

  private recordKafka(system: string, reading: BrokerReading): void {
    const k = this.kafka;
    if (!k) return;
    for (const o of reading.offsets ?? []) {
      const labels = {
        [LABEL_MESSAGING_SYSTEM]: system,
        [LABEL_DESTINATION]: o.destination,
        [LABEL_PARTITION]: o.partition,
      };
      k.partitionOffset.set(labels, o.newest);
      k.partitionOldest.set(labels, o.oldest);
    }
    for (const o of reading.groupOffsets ?? []) {
      const labels = {
        [LABEL_MESSAGING_SYSTEM]: system,
        [LABEL_DESTINATION]: o.destination,
        [LABEL_CONSUMER_GROUP]: o.group,
        [LABEL_PARTITION]: o.partition,
      };
      k.groupOffset.set(labels, o.committed);
      k.groupLost.set(labels, o.lost);
    }
    for (const d of reading.groupDestinations ?? []) {
      const labels = {
        [LABEL_MESSAGING_SYSTEM]: system,
        [LABEL_DESTINATION]: d.destination,
        [LABEL_CONSUMER_GROUP]: d.group,
      };
      k.groupLagSum.set(labels, d.lagSum);
      k.groupLagMax.set(labels, d.lagMax);
      k.groupUncommitted.set(labels, d.uncommitted);
    }
  }
}

type GaugeLabel<G> = G extends Gauge<infer T> ? T : never;
