/**
 * The broker monitor layer's one seam. A monitor reads broker state and returns it as a
 * `BrokerReading`; it never touches metrics. The runner (./runner.ts) schedules polls, bounds them in
 * time and turns failures into `hoptrace_collector_up{source}=0` instead of errors (a broken monitor
 * never stops the collector); ./gauges.ts writes each reading into the gauges named in core semconv.
 *
 * Adding a monitor (SQS, Pub/Sub, ...): a folder `monitors/<broker>/` with a class that
 * implements `Monitor`, returning what the broker knows as `queues`, `lag` and `groups`; then one line
 * in the collector's `collector/monitors/index.ts` that creates it from the collector options.
 */
import type { LagStatus } from '../instrumentation/core/semconv.js';

/** One queue (or topic subscription) as the broker reports it. */
export interface QueueReading {
  destination: string;
  /** Messages waiting for a consumer: `hoptrace_queue_messages{state="ready"}`. */
  ready: number;
  /** Messages delivered and not yet settled: `hoptrace_queue_messages{state="unacked"}`. */
  unacked: number;
  /** Messages not deliverable yet (SQS delay): `hoptrace_queue_messages{state="delayed"}`; omit where none exist. */
  delayed?: number;
  /** Consumers attached: `hoptrace_queue_consumers`; omit where the broker does not know. */
  consumers?: number;
  /** Age of the oldest message: `hoptrace_queue_oldest_message_age_seconds`; omit when unknown. */
  oldestAgeSeconds?: number;
  /** Queues that dead-letter into this one; set only on dead-letter queues (`hoptrace_dlq_messages`). */
  deadLetterSources?: readonly string[];
  /** Every message in the queue, for `hoptrace_dlq_messages`; default ready + unacked. */
  messages?: number;
  /** More `hoptrace_queue_messages{state}` series where the broker has more states (BullMQ: prioritized, failed, ...). */
  states?: Readonly<Record<string, number>>;
  /** `hoptrace_queue_paused` (1/0); omit where the broker has no pause. */
  paused?: boolean;
}

/** Consumer lag of one consumer (group) on one destination (partition). */
export interface LagReading {
  destination: string;
  /** '' where the broker has no consumer groups (RabbitMQ: the queue is the unit of consumers). */
  group: string;
  /** '' where the destination has no partitions. */
  partition: string;
  /** `hoptrace_consumer_lag_messages`. */
  messages: number;
  /** Age of the oldest unprocessed message: `hoptrace_consumer_lag_seconds`; omit when unknown. */
  seconds?: number;
  /**
   * Epoch ms `seconds` was measured at, set when the consumer made no progress: the gauge then ages
   * with the clock at scrape time until the next reading.
   */
  secondsAt?: number;
}

/** Offsets of one partition of a log (Kafka): `hoptrace_kafka_topic_partition_*_offset`. */
export interface PartitionOffsetsReading {
  destination: string;
  partition: string;
  /** Log start offset (oldest record kept). */
  oldest: number;
  /** High watermark. */
  newest: number;
}

/** A group's committed offset on one partition: `hoptrace_kafka_consumergroup_current_offset`. */
export interface GroupOffsetReading {
  destination: string;
  group: string;
  partition: string;
  committed: number;
  /** Records deleted before the group read them: `hoptrace_kafka_consumergroup_lost_messages`. */
  lost: number;
}

/** Per group and destination: lag sum and max, partitions never committed. */
export interface GroupDestinationReading {
  destination: string;
  group: string;
  lagSum: number;
  lagMax: number;
  uncommitted: number;
}

/** A consumer group's status from a sliding window (`hoptrace_consumer_lag_status`). */
export interface GroupStatusReading {
  group: string;
  /** Omit where no status is known yet (a group without commits). */
  status?: LagStatus;
  /** Active members: `hoptrace_kafka_consumergroup_members`; omit where unknown. */
  members?: number;
  /** Group state (Kafka: Stable, Empty, ...): `hoptrace_kafka_consumergroup_state{state}`. */
  state?: string;
}

/** What one poll read. Every series a monitor set in its previous reading and not in this one is removed. */
export interface BrokerReading {
  /** `messaging_system` label of every series in this reading. */
  system: string;
  queues?: readonly QueueReading[];
  lag?: readonly LagReading[];
  groups?: readonly GroupStatusReading[];
  /** Kafka: partition and group offsets, per group and topic aggregates. */
  offsets?: readonly PartitionOffsetsReading[];
  groupOffsets?: readonly GroupOffsetReading[];
  groupDestinations?: readonly GroupDestinationReading[];
  /**
   * Set when part of the broker could not be read: the rest of the reading is recorded, then the
   * source reports down with this error.
   */
  error?: Error;
}

export interface Monitor {
  /** `source` label of `hoptrace_collector_up` and `..._last_success_timestamp_seconds`. */
  readonly source: string;
  readonly intervalMs: number;
  /**
   * A scrape of `/metrics` polls this monitor first when its last poll started longer ago than this
   * (figures current at scrape time, as kafka_exporter computes them); omit for interval polls only.
   */
  readonly refreshOnScrapeMs?: number;
  /**
   * One poll: read the broker. Throws (a `MonitorError`) when it cannot; `signal` aborts when the
   * poll outlives its interval or the runner stops. Resolving without a reading records nothing.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a poll that only checks reachability returns nothing
  poll(signal: AbortSignal): Promise<BrokerReading | undefined | void>;
  /** Releases clients; called once when the runner stops. */
  close?(): Promise<void>;
}
