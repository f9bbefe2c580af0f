/**
 * Kafka consumer lag as a `Monitor`. The lag itself (per group, topic and partition, in messages and
 * seconds, with a per-group status) is computed by the lag monitor (./lag-monitor.ts, shared with
 * `hoptrace lag`); this adapter polls it on the runner's schedule and returns it as a reading.
 */
import { type LagStatus, MESSAGING_SYSTEM_KAFKA } from '../../instrumentation/core/semconv.js';
import { MonitorError } from '../errors.js';
import type {
  BrokerReading,
  GroupDestinationReading,
  GroupOffsetReading,
  GroupStatusReading,
  LagReading,
  Monitor,
  PartitionOffsetsReading,
} from '../types.js';

/** The part of the lag monitor's snapshot a reading needs (the rest is optional, for tests). */
export interface KafkaLagSnapshotLike {
  at?: number;
  groups: {
    group: string;
    status: LagStatus | undefined;
    state?: string;
    members?: number;
    partitions: {
      topic: string;
      partition: number;
      lag: number;
      lagSeconds: number | undefined;
      lagSecondsGrowing?: boolean;
      committedOffset?: string;
      highWatermark?: string;
      lowWatermark?: string;
      lostMessages?: number;
    }[];
    uncommitted?: { topic: string; partitions: number[] }[];
  }[];
  errors: { group?: string; message: string }[];
}

export interface KafkaLagSource {
  poll(): Promise<KafkaLagSnapshotLike>;
  close(): Promise<void>;
}

/**
 * A lag snapshot as a reading: lag per partition (aging between polls where the group made no
 * progress), status, state and members per group, offsets per partition, per group and topic sums
 * and maxima; read errors as the reading's error.
 */
export function lagReading(snapshot: KafkaLagSnapshotLike, source = 'kafka'): BrokerReading {
  const lag: LagReading[] = [];
  const groups: GroupStatusReading[] = [];
  const offsets = new Map<string, PartitionOffsetsReading>();
  const groupOffsets: GroupOffsetReading[] = [];
  const groupDestinations = new Map<string, GroupDestinationReading>();
  const perTopic = (group: string, destination: string) => {
    const key = `${group}\0${destination}`;
    let d = groupDestinations.get(key);
    if (!d) {
      d = { group, destination, lagSum: 0, lagMax: 0, uncommitted: 0 };
      groupDestinations.set(key, d);
    }
    return d;
  };
  for (const g of snapshot.groups) {
    const entry: GroupStatusReading = { group: g.group };
    if (g.status !== undefined) entry.status = g.status;
    if (g.members !== undefined) entry.members = g.members;
    if (g.state !== undefined) entry.state = g.state;
    groups.push(entry);
    for (const p of g.partitions) {
      const partition = String(p.partition);
      const reading: LagReading = {
        destination: p.topic,
        group: g.group,
        partition,
        messages: p.lag,
        seconds: p.lagSeconds,
      };
      if (p.lagSecondsGrowing && p.lagSeconds !== undefined && snapshot.at !== undefined)
        reading.secondsAt = snapshot.at;
      lag.push(reading);
      if (p.highWatermark !== undefined && p.lowWatermark !== undefined)
        offsets.set(`${p.topic}\0${partition}`, {
          destination: p.topic,
          partition,
          newest: Number(p.highWatermark),
          oldest: Number(p.lowWatermark),
        });
      if (p.committedOffset !== undefined)
        groupOffsets.push({
          destination: p.topic,
          group: g.group,
          partition,
          committed: Number(p.committedOffset),
          lost: p.lostMessages ?? 0,
        });
      const d = perTopic(g.group, p.topic);
      d.lagSum += p.lag;
      d.lagMax = Math.max(d.lagMax, p.lag);
    }
    for (const u of g.uncommitted ?? []) perTopic(g.group, u.topic).uncommitted = u.partitions.length;
  }
  const reading: BrokerReading = {
    system: MESSAGING_SYSTEM_KAFKA,
    lag,
    groups,
    offsets: [...offsets.values()],
    groupOffsets,
    groupDestinations: [...groupDestinations.values()],
  };
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
  /** Lag figures current at scrape time: a scrape polls again when the last poll is older than 1 s. */
  readonly refreshOnScrapeMs = 1000;

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
