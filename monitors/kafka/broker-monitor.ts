/**
 * Kafka consumer lag as a collector monitor. The lag itself (per group, topic and partition, in
 * messages and seconds, with a per-group status) is computed by the Kafka instrumentation's lag
 * monitor (`instrumentation/kafka/lag-monitor.ts`, shared with `hoptrace lag`); this adapter polls it
 * on the collector's schedule and sets the collector's gauges, which the RabbitMQ monitor shares.
 */

import { MonitorError } from '../../collector/errors.js';
import type { CollectorMetrics } from '../../collector/metrics.js';
import { LAG_STATUS, type LagStatus, MESSAGING_SYSTEM_KAFKA } from '../../instrumentation/core/semconv.js';
import { GaugeSeries } from '../series.js';
import type { Monitor } from '../types.js';

/** The part of the Kafka lag monitor's snapshot the collector reads. */
export interface KafkaLagSnapshotLike {
  groups: {
    group: string;
    status: LagStatus | undefined;
    partitions: { topic: string; partition: number; lag: number; lagSeconds: number | undefined }[];
  }[];
  errors: { group?: string; message: string }[];
}

export interface KafkaLagSource {
  poll(): Promise<KafkaLagSnapshotLike>;
  close(): Promise<void>;
}

type LagLabel =
  | 'messaging_system'
  | 'messaging_destination_name'
  | 'messaging_consumer_group_name'
  | 'messaging_destination_partition_id';

export class KafkaLagCollectorMonitor implements Monitor {
  readonly source = 'kafka';
  private readonly lagMessages: GaugeSeries<LagLabel>;
  private readonly lagSeconds: GaugeSeries<LagLabel>;
  private readonly status: GaugeSeries<'messaging_system' | 'messaging_consumer_group_name'>;

  constructor(
    private readonly lag: KafkaLagSource,
    readonly intervalMs: number,
    metrics: CollectorMetrics,
  ) {
    this.lagMessages = new GaugeSeries(metrics.lagMessages);
    this.lagSeconds = new GaugeSeries(metrics.lagSeconds);
    this.status = new GaugeSeries(metrics.lagStatus);
  }

  async poll(signal: AbortSignal): Promise<void> {
    const aborted = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(new MonitorError(this.source, 'poll timed out')), {
        once: true,
      });
    });
    const snapshot = await Promise.race([this.lag.poll(), aborted]);
    for (const g of snapshot.groups) {
      if (g.status !== undefined) {
        this.status.set(
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
        this.lagMessages.set(labels, p.lag);
        if (p.lagSeconds !== undefined) this.lagSeconds.set(labels, p.lagSeconds);
      }
    }
    for (const series of [this.lagMessages, this.lagSeconds, this.status]) series.commit();
    if (snapshot.errors.length > 0) {
      const first = snapshot.errors[0];
      throw new MonitorError(
        this.source,
        `${snapshot.errors.length} lag read error(s), first: ${first.group ? `${first.group}: ` : ''}${first.message}`,
      );
    }
  }

  close(): Promise<void> {
    return this.lag.close();
  }
}
