/**
 * Kafka consumer lag as a `Monitor`. The lag itself (per group, topic and partition, in messages and
 * seconds, with a per-group status) is computed by the lag monitor (./lag-monitor.ts, shared with
 * `hoptrace lag`); this adapter polls it on the runner's schedule and returns it as a reading.
 */
import { type LagStatus, MESSAGING_SYSTEM_KAFKA } from '../../instrumentation/core/semconv.js';
import { MonitorError } from '../errors.js';
import type { BrokerReading, GroupStatusReading, LagReading, Monitor } from '../types.js';

/** The part of the lag monitor's snapshot a reading needs. */
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

/** A lag snapshot as a reading: lag per partition, status per group, read errors as the reading's error. */
export function lagReading(snapshot: KafkaLagSnapshotLike, source = 'kafka'): BrokerReading {
  const lag: LagReading[] = [];
  const groups: GroupStatusReading[] = [];
  for (const g of snapshot.groups) {
    if (g.status !== undefined) groups.push({ group: g.group, status: g.status });
    for (const p of g.partitions) {
      lag.push({
        destination: p.topic,
        group: g.group,
        partition: String(p.partition),
        messages: p.lag,
        seconds: p.lagSeconds,
      });
    }
  }
  const reading: BrokerReading = { system: MESSAGING_SYSTEM_KAFKA, lag, groups };
  if (snapshot.errors.length > 0) {
    const first = snapshot.errors[0];
    reading.error = new MonitorError(
      source,
      `${snapshot.errors.length} lag read error(s), first: ${first.group ? `${first.group}: ` : ''}${first.message}`,
    );
  }
  return reading;
}

export class KafkaMonitor implements Monitor {
  readonly source = 'kafka';

  constructor(
    private readonly lag: KafkaLagSource,
    readonly intervalMs: number,
  ) {}

  async poll(signal: AbortSignal): Promise<BrokerReading> {
    const aborted = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(new MonitorError(this.source, 'poll timed out')), {
        once: true,
      });
    });
    return lagReading(await Promise.race([this.lag.poll(), aborted]), this.source);
  }

  close(): Promise<void> {
    return this.lag.close();
  }
}
