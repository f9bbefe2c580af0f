/**
 * Exports a lag monitor's latest snapshot through the core's lag gauges, computed at scrape time, so a
 * scrape always shows the last evaluation and series of vanished groups disappear with it.
 */

import type { LagSnapshot } from '../../monitors/kafka/lag-monitor.js';
import { LAG_STATUS, MESSAGING_SYSTEM_KAFKA } from '../core/semconv.js';
import { agedSeconds, lagGauges, type MetricsRegistry } from '../transport/index.js';

/**
 * Reports `hoptrace_consumer_lag_messages`, `hoptrace_consumer_lag_seconds` (per group, topic, partition)
 * and `hoptrace_consumer_lag_status` (per group: 0 OK, 1 WARN, 2 STALL, 3 STOP) in `registry`, reading
 * `snapshot()` (typically `monitor.latest`) at each scrape. A name another metric already holds in the
 * registry is left alone (warned once), as for every hoptrace metric. The lag in seconds of a partition
 * that made no progress at the last evaluation ages with the clock until the next one.
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
  return { unregister: remove };
}
