/**
 * Exports a lag monitor's latest snapshot as prom-client gauges, computed at scrape time (`collect`),
 * so a scrape always shows the last evaluation and series of vanished groups disappear with it.
 */
import { Gauge } from 'prom-client';
import type { LagSnapshot } from '../../monitors/kafka/lag-monitor.js';
import type { MetricsRegistry } from '../core/metrics.js';
import {
  LABEL_CONSUMER_GROUP,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  LABEL_PARTITION,
  LAG_STATUS,
  MESSAGING_SYSTEM_KAFKA,
  METRIC_CONSUMER_LAG_MESSAGES,
  METRIC_CONSUMER_LAG_SECONDS,
  METRIC_CONSUMER_LAG_STATUS,
} from '../core/semconv.js';

const PARTITION_LABELS = [LABEL_MESSAGING_SYSTEM, LABEL_DESTINATION, LABEL_CONSUMER_GROUP, LABEL_PARTITION];

/**
 * Registers `hoptrace_consumer_lag_messages`, `hoptrace_consumer_lag_seconds` (per group, topic, partition)
 * and `hoptrace_consumer_lag_status` (per group: 0 OK, 1 WARN, 2 STALL, 3 STOP) in `registry`, reading
 * `snapshot()` (typically `monitor.latest`) at each scrape. Throws if the names are already registered.
 */
export function registerLagMetrics(
  registry: MetricsRegistry,
  snapshot: () => LagSnapshot | undefined,
): { unregister(): void } {
  const partitionSeries = (s: LagSnapshot) =>
    s.groups.flatMap((g) =>
      g.partitions.map((p) => ({
        labels: {
          [LABEL_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_KAFKA,
          [LABEL_DESTINATION]: p.topic,
          [LABEL_CONSUMER_GROUP]: g.group,
          [LABEL_PARTITION]: String(p.partition),
        },
        partition: p,
      })),
    );

  const messages = new Gauge({
    name: METRIC_CONSUMER_LAG_MESSAGES,
    help: 'Kafka consumer lag in messages: high watermark - committed offset, per group and partition.',
    labelNames: PARTITION_LABELS,
    registers: [],
    collect() {
      this.reset();
      const s = snapshot();
      if (!s) return;
      for (const { labels, partition } of partitionSeries(s)) this.set(labels, partition.lag);
    },
  });
  const seconds = new Gauge({
    name: METRIC_CONSUMER_LAG_SECONDS,
    help: 'Kafka consumer lag in seconds: age of the oldest record the group has not processed.',
    labelNames: PARTITION_LABELS,
    registers: [],
    collect() {
      this.reset();
      const s = snapshot();
      if (!s) return;
      for (const { labels, partition } of partitionSeries(s)) {
        if (partition.lagSeconds !== undefined) this.set(labels, partition.lagSeconds);
      }
    },
  });
  const status = new Gauge({
    name: METRIC_CONSUMER_LAG_STATUS,
    help: 'Kafka consumer group status from a sliding window: 0 OK, 1 WARN, 2 STALL, 3 STOP.',
    labelNames: [LABEL_MESSAGING_SYSTEM, LABEL_CONSUMER_GROUP],
    registers: [],
    collect() {
      this.reset();
      const s = snapshot();
      if (!s) return;
      for (const g of s.groups) {
        if (g.status === undefined) continue;
        this.set(
          { [LABEL_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_KAFKA, [LABEL_CONSUMER_GROUP]: g.group },
          LAG_STATUS[g.status],
        );
      }
    },
  });
  const gauges = [messages, seconds, status];
  for (const gauge of gauges) registry.registerMetric(gauge);
  return {
    unregister() {
      for (const name of [
        METRIC_CONSUMER_LAG_MESSAGES,
        METRIC_CONSUMER_LAG_SECONDS,
        METRIC_CONSUMER_LAG_STATUS,
      ])
        registry.removeSingleMetric(name);
    },
  };
}
