/**
 * Exports a lag monitor's latest snapshot through the core's lag gauges, computed at scrape time, so a
 * scrape always shows the last evaluation and series of vanished groups disappear with it.
 */

import { Gauge } from 'prom-client';
import { lagReading } from '../../monitors/kafka/broker-monitor.js';
import type { LagSnapshot } from '../../monitors/kafka/lag-monitor.js';
import type { BrokerReading } from '../../monitors/types.js';
import {
  LABEL_CONSUMER_GROUP,
  LABEL_DESTINATION,
  LABEL_KAFKA_GROUP_STATE,
  LABEL_MESSAGING_SYSTEM,
  LABEL_PARTITION,
  LAG_STATUS,
  MESSAGING_SYSTEM_KAFKA,
  METRIC_KAFKA_GROUP_LAG_MAX,
  METRIC_KAFKA_GROUP_LAG_SUM,
  METRIC_KAFKA_GROUP_LOST_MESSAGES,
  METRIC_KAFKA_GROUP_MEMBERS,
  METRIC_KAFKA_GROUP_OFFSET,
  METRIC_KAFKA_GROUP_STATE,
  METRIC_KAFKA_GROUP_UNCOMMITTED,
  METRIC_KAFKA_PARTITION_OFFSET,
  METRIC_KAFKA_PARTITION_OLDEST_OFFSET,
} from '../core/semconv.js';
import { agedSeconds, guardFor, lagGauges, type MetricsRegistry } from '../transport/index.js';

type Labels = Record<string, string>;
type Series = (set: (labels: Labels, value: number) => void, r: BrokerReading) => void;

const S = LABEL_MESSAGING_SYSTEM;
const D = LABEL_DESTINATION;
const G = LABEL_CONSUMER_GROUP;
const P = LABEL_PARTITION;
const K = MESSAGING_SYSTEM_KAFKA;

/** The collector's kafka_exporter-style series (docs/kafka.md#metrics), read from a reading. */
const KAFKA_SERIES: { name: string; help: string; labels: string[]; fill: Series }[] = [
  {
    name: METRIC_KAFKA_GROUP_OFFSET,
    help: 'Committed offset of a consumer group, per partition (Kafka).',
    labels: [S, D, G, P],
    fill: (set, r) => {
      for (const o of r.groupOffsets ?? [])
        set({ [S]: K, [D]: o.destination, [G]: o.group, [P]: o.partition }, o.committed);
    },
  },
  {
    name: METRIC_KAFKA_GROUP_LOST_MESSAGES,
    help: 'Messages deleted (retention) before the group read them: log start offset - committed offset, when above 0.',
    labels: [S, D, G, P],
    fill: (set, r) => {
      for (const o of r.groupOffsets ?? [])
        set({ [S]: K, [D]: o.destination, [G]: o.group, [P]: o.partition }, o.lost);
    },
  },
  {
    name: METRIC_KAFKA_PARTITION_OFFSET,
    help: 'High watermark of a partition (Kafka).',
    labels: [S, D, P],
    fill: (set, r) => {
      for (const o of r.offsets ?? []) set({ [S]: K, [D]: o.destination, [P]: o.partition }, o.newest);
    },
  },
  {
    name: METRIC_KAFKA_PARTITION_OLDEST_OFFSET,
    help: 'Log start offset of a partition: the oldest record kept (Kafka).',
    labels: [S, D, P],
    fill: (set, r) => {
      for (const o of r.offsets ?? []) set({ [S]: K, [D]: o.destination, [P]: o.partition }, o.oldest);
    },
  },
  {
    name: METRIC_KAFKA_GROUP_MEMBERS,
    help: 'Active members of a consumer group (Kafka).',
    labels: [S, G],
    fill: (set, r) => {
      for (const g of r.groups ?? []) if (g.members !== undefined) set({ [S]: K, [G]: g.group }, g.members);
    },
  },
  {
    name: METRIC_KAFKA_GROUP_STATE,
    help: 'State of a consumer group (Stable, Empty, PreparingRebalance, ...): 1 for the current state.',
    labels: [S, G, LABEL_KAFKA_GROUP_STATE],
    fill: (set, r) => {
      for (const g of r.groups ?? [])
        if (g.state !== undefined) set({ [S]: K, [G]: g.group, [LABEL_KAFKA_GROUP_STATE]: g.state }, 1);
    },
  },
  {
    name: METRIC_KAFKA_GROUP_UNCOMMITTED,
    help: 'Partitions of a topic the group reads (commits or assignments) that it never committed.',
    labels: [S, D, G],
    fill: (set, r) => {
      for (const d of r.groupDestinations ?? [])
        set({ [S]: K, [D]: d.destination, [G]: d.group }, d.uncommitted);
    },
  },
  {
    name: METRIC_KAFKA_GROUP_LAG_SUM,
    help: "Consumer lag in messages summed over a topic's partitions.",
    labels: [S, D, G],
    fill: (set, r) => {
      for (const d of r.groupDestinations ?? []) set({ [S]: K, [D]: d.destination, [G]: d.group }, d.lagSum);
    },
  },
  {
    name: METRIC_KAFKA_GROUP_LAG_MAX,
    help: "Largest consumer lag in messages among a topic's partitions.",
    labels: [S, D, G],
    fill: (set, r) => {
      for (const d of r.groupDestinations ?? []) set({ [S]: K, [D]: d.destination, [G]: d.group }, d.lagMax);
    },
  },
];

/** Per registry: the snapshot sources the kafka_exporter-style gauges read at scrape time. */
const kafkaSources = new WeakMap<MetricsRegistry, Set<() => LagSnapshot | undefined>>();

function kafkaSeriesSources(registry: MetricsRegistry): Set<() => LagSnapshot | undefined> {
  let sources = kafkaSources.get(registry);
  if (sources) return sources;
  const own = new Set<() => LagSnapshot | undefined>();
  sources = own;
  kafkaSources.set(registry, own);
  const guard = guardFor('metrics');
  for (const series of KAFKA_SERIES) {
    if (registry.getSingleMetric(series.name)) {
      guard.warnOnce(
        `clash:${series.name}`,
        `metric ${series.name} already exists in the registry; hoptrace records nothing into it`,
      );
      continue;
    }
    new Gauge({
      name: series.name,
      help: series.help,
      labelNames: series.labels,
      registers: [registry],
      collect(this: Gauge<string>) {
        this.reset();
        for (const source of own) {
          guard.do('kafka lag source', () => {
            const s = source();
            if (s) series.fill((labels, value) => this.set(labels, value), lagReading(s));
          });
        }
      },
    });
  }
  return sources;
}

/**
 * Reports `hoptrace_consumer_lag_messages`, `hoptrace_consumer_lag_seconds` (per group, topic, partition)
 * and `hoptrace_consumer_lag_status` (per group: 0 OK, 1 WARN, 2 STALL, 3 STOP) in `registry`, reading
 * `snapshot()` (typically `monitor.latest`) at each scrape. A name another metric already holds in the
 * registry is left alone (warned once), as for every hoptrace metric. The lag in seconds of a partition
 * that made no progress at the last evaluation ages with the clock until the next one. The
 * kafka_exporter-style offset and group series (docs/kafka.md#metrics) are reported too.
 */
export function registerLagMetrics(
  registry: MetricsRegistry,
  snapshot: () => LagSnapshot | undefined,
): { unregister(): void } {
  const remove = lagGauges(registry).add((write) => {
    const s = snapshot();
    if (!s) return;
    const now = Date.now();
    for (const g of s.groups) {
      if (g.status !== undefined) {
        write.status(
          { messaging_system: MESSAGING_SYSTEM_KAFKA, messaging_consumer_group_name: g.group },
          LAG_STATUS[g.status],
        );
      }
      for (const p of g.partitions) {
        const labels = {
          messaging_system: MESSAGING_SYSTEM_KAFKA,
          messaging_destination_name: p.topic,
          messaging_consumer_group_name: g.group,
          messaging_destination_partition_id: String(p.partition),
        };
        write.messages(labels, p.lag);
        if (p.lagSeconds !== undefined)
          write.seconds(labels, p.lagSecondsGrowing ? agedSeconds(p.lagSeconds, s.at, now) : p.lagSeconds);
      }
    }
  });
  const sources = kafkaSeriesSources(registry);
  sources.add(snapshot);
  return {
    unregister() {
      remove();
      sources.delete(snapshot);
    },
  };
}
