/**
 * Writes monitors' readings into the broker gauges (names and labels from core semconv). One
 * `ReadingRecorder` per monitor: several monitors share each gauge (consumer lag from RabbitMQ and
 * Kafka), and each removes only the series it set itself when they vanish from its readings.
 */
import type { Gauge } from 'prom-client';
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

  constructor(gauges: BrokerGauges) {
    this.queueMessages = new GaugeSeries(gauges.queueMessages);
    this.queueConsumers = new GaugeSeries(gauges.queueConsumers);
    this.oldestAge = new GaugeSeries(gauges.queueOldestAge);
    this.paused = new GaugeSeries(gauges.queuePaused);
    this.dlq = new GaugeSeries(gauges.dlqMessages);
    this.lagMessages = new GaugeSeries(gauges.lagMessages);
    this.lagSeconds = new GaugeSeries(gauges.lagSeconds);
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
      if (l.seconds !== undefined) this.lagSeconds.set(labels, l.seconds);
    }
    for (const g of reading.groups ?? []) {
      this.status.set(
        { [LABEL_MESSAGING_SYSTEM]: system, [LABEL_CONSUMER_GROUP]: g.group },
        LAG_STATUS[g.status],
      );
    }
    for (const series of [
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
}
