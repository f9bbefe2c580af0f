/**
 * Kafka consumer lag per group, topic and partition, in messages and in seconds, with a Burrow-style
 * status per group. Shared by the collector and `hoptrace lag`; free of collector imports.
 *
 * - Lag in messages = high watermark - committed offset, never negative. A partition the group never
 *   committed has no lag entry at all (not -1, not the whole log).
 * - Lag in seconds = age of the oldest unprocessed record: the record at the committed offset, whose
 *   timestamp is read with one Fetch to the partition leader (see record-reader.ts). The timestamp is
 *   cached per (partition, committed offset), so a group that does not move costs no fetch. Only when the
 *   record is gone (deleted by retention) or unreadable is it interpolated from the (high watermark, time)
 *   history this monitor keeps; when that history does not reach back far enough the value is a lower
 *   bound (now - oldest sample). 0 when the lag is 0.
 * - Status: see lag-status.ts.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { LagStatus } from '../../instrumentation/core/semconv.js';
import { evaluatePartitionStatus, LagWindows, worstStatus } from './lag-status.js';
import { createRecordReader, type RecordReader } from './record-reader.js';

export { evaluatePartitionStatus } from './lag-status.js';

export type LagSecondsSource = 'record' | 'interpolated' | 'caught_up';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** The group's committed offset: the next record it will read. */
  committedOffset: string;
  highWatermark: string;
  lowWatermark: string;
  /** high watermark - committed offset, >= 0. */
  lag: number;
  /** Age of the oldest unprocessed record; undefined when it could not be determined. */
  lagSeconds: number | undefined;
  lagSecondsSource: LagSecondsSource | undefined;
  status: LagStatus;
}

export interface GroupLag {
  group: string;
  /** Group state from DescribeGroups (`Stable`, `Empty`, ...). */
  state: string;
  members: number;
  /** Worst partition status; undefined when the group has no committed partition. */
  status: LagStatus | undefined;
  /** Sum of the partitions' lag. */
  totalLag: number;
  partitions: PartitionLag[];
}

export interface LagSnapshot {
  /** Epoch ms of the evaluation. */
  at: number;
  groups: GroupLag[];
  /** Groups (or the listing) that could not be read this time; the rest of the snapshot is valid. */
  errors: { group?: string; message: string }[];
}

export interface KafkaLagMonitorOptions {
  /** A kafkajs client (instrumented or not); or give `brokers`. */
  kafka?: Kafka;
  /** Bootstrap brokers (`host:port`) when no `kafka` client is given. */
  brokers?: string[];
  clientId?: string;
  /** Groups to watch: names, or a filter; default every consumer group the cluster lists. */
  groups?: readonly string[] | ((groupId: string) => boolean);
  /** Poll period of `start()`; default 15000. */
  intervalMs?: number;
  /** Evaluations per status window (Burrow's N); default 10. */
  windowSize?: number;
  /** Read record timestamps for exact lag seconds; default true. False: interpolation only. */
  exactLagSeconds?: boolean;
  /** Called with every snapshot `start()` takes. */
  onSnapshot?: (snapshot: LagSnapshot) => void;
  /** Clock, for tests. */
  now?: () => number;
}

export interface KafkaLagMonitor {
  /** Evaluates every watched group once. Never rejects for one group's failure (see `errors`). */
  poll(): Promise<LagSnapshot>;
  /** The last snapshot, if any. */
  latest(): LagSnapshot | undefined;
  /** Polls every `intervalMs` until `close()`; the timer does not keep the process alive. */
  start(): void;
  close(): Promise<void>;
  readonly intervalMs: number;
  readonly windowSize: number;
}

const HISTORY_SAMPLES = 256;
const TIMESTAMP_CACHE_LIMIT = 10_000;

interface Sample {
  high: bigint;
  at: number;
}

export function createKafkaLagMonitor(options: KafkaLagMonitorOptions): KafkaLagMonitor {
  const intervalMs = positiveInt(options.intervalMs, 15_000);
  const windowSize = positiveInt(options.windowSize, 10);
  const now = options.now ?? Date.now;
  const windows = new LagWindows(windowSize);
  const history = new Map<string, Sample[]>();
  const timestamps = new Map<string, number>();
  let kafka: Kafka | undefined = options.kafka;
  let admin: Admin | undefined;
  let adminConnecting: Promise<void> | undefined;
  let reader: RecordReader | undefined | null; // null: unavailable
  let latest: LagSnapshot | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let polling: Promise<LagSnapshot> | undefined;

  const client = async (): Promise<Kafka> => {
    if (kafka) return kafka;
    if (!options.brokers || options.brokers.length === 0)
      throw new TypeError('createKafkaLagMonitor needs `kafka` or `brokers`');
    const { Kafka: KafkaClass, logLevel } = await import('kafkajs');
    kafka = new KafkaClass({
      clientId: options.clientId ?? 'hoptrace-lag',
      brokers: options.brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 200 },
    });
    return kafka;
  };

  const connectedAdmin = async (): Promise<Admin> => {
    if (!admin) {
      admin = (await client()).admin();
      adminConnecting = admin.connect();
    }
    const current = admin;
    try {
      await adminConnecting;
    } catch (err) {
      admin = undefined;
      throw err;
    }
    return current;
  };

  const recordReader = async (): Promise<RecordReader | undefined> => {
    if (options.exactLagSeconds === false) return undefined;
    if (reader === undefined) reader = createRecordReader(await client()) ?? null;
    return reader ?? undefined;
  };

  const watchedGroups = async (a: Admin): Promise<string[]> => {
    if (Array.isArray(options.groups)) return [...options.groups];
    const { groups } = await a.listGroups();
    const filter = typeof options.groups === 'function' ? options.groups : () => true;
    return groups
      .filter((g) => g.protocolType === 'consumer' || g.protocolType === '')
      .map((g) => g.groupId)
      .filter((g) => filter(g))
      .sort();
  };

  const recordSample = (key: string, high: bigint, at: number) => {
    let samples = history.get(key);
    if (!samples) {
      samples = [];
      history.set(key, samples);
    }
    const last = samples[samples.length - 1];
    // Keep the first time each high watermark was seen: that is when its records existed.
    if (!last || last.high !== high) samples.push({ high, at });
    if (samples.length > HISTORY_SAMPLES) samples.splice(0, samples.length - HISTORY_SAMPLES);
  };

  /** When record `offset` was appended, from the high watermark history (linear between samples). */
  const interpolate = (key: string, offset: bigint): number | undefined => {
    const samples = history.get(key);
    if (!samples || samples.length === 0) return undefined;
    const first = samples[0] as Sample;
    if (offset < first.high) return first.at; // older than the history: a lower bound of its age
    for (let i = 1; i < samples.length; i++) {
      const before = samples[i - 1] as Sample;
      const after = samples[i] as Sample;
      if (offset >= before.high && offset < after.high) {
        const fraction = Number(offset - before.high + 1n) / Number(after.high - before.high);
        return before.at + fraction * (after.at - before.at);
      }
    }
    return undefined;
  };

  const lagSecondsOf = async (
    topic: string,
    partition: number,
    committed: bigint,
    lag: number,
    at: number,
  ): Promise<{ seconds: number | undefined; source: LagSecondsSource | undefined }> => {
    if (lag === 0) return { seconds: 0, source: 'caught_up' };
    const cacheKey = `${topic}\0${partition}\0${committed}`;
    let timestamp = timestamps.get(cacheKey);
    if (timestamp === undefined) {
      const r = await recordReader();
      if (r) {
        try {
          timestamp = await r.timestampAt(topic, partition, committed.toString());
        } catch {
          timestamp = undefined;
        }
        if (timestamp !== undefined) {
          if (timestamps.size >= TIMESTAMP_CACHE_LIMIT) timestamps.clear();
          timestamps.set(cacheKey, timestamp);
        }
      }
    }
    if (timestamp !== undefined) return { seconds: Math.max(0, (at - timestamp) / 1000), source: 'record' };
    const estimated = interpolate(`${topic}\0${partition}`, committed);
    if (estimated === undefined) return { seconds: undefined, source: undefined };
    return { seconds: Math.max(0, (at - estimated) / 1000), source: 'interpolated' };
  };

  const pollOnce = async (): Promise<LagSnapshot> => {
    const at = now();
    const errors: LagSnapshot['errors'] = [];
    const a = await connectedAdmin();
    const groupIds = await watchedGroups(a);
    const descriptions = new Map<string, { state: string; members: number }>();
    if (groupIds.length > 0) {
      try {
        const { groups } = await a.describeGroups(groupIds);
        for (const g of groups) descriptions.set(g.groupId, { state: g.state, members: g.members.length });
      } catch (err) {
        errors.push({ message: `describeGroups: ${messageOf(err)}` });
      }
    }

    const watermarks = new Map<string, Promise<Map<number, { high: bigint; low: bigint }>>>();
    const topicWatermarks = (topic: string) => {
      let pending = watermarks.get(topic);
      if (!pending) {
        pending = a.fetchTopicOffsets(topic).then((offsets) => {
          const byPartition = new Map<number, { high: bigint; low: bigint }>();
          for (const o of offsets) byPartition.set(o.partition, { high: BigInt(o.high), low: BigInt(o.low) });
          for (const [partition, w] of byPartition) recordSample(`${topic}\0${partition}`, w.high, at);
          return byPartition;
        });
        watermarks.set(topic, pending);
      }
      return pending;
    };

    const live = new Set<string>();
    const groups: GroupLag[] = [];
    for (const group of groupIds) {
      try {
        const description = descriptions.get(group) ?? { state: 'Unknown', members: 0 };
        const committed = await a.fetchOffsets({ groupId: group });
        const partitions: PartitionLag[] = [];
        for (const { topic, partitions: offsets } of committed) {
          const marks = await topicWatermarks(topic);
          for (const { partition, offset } of offsets) {
            const committedOffset = parseOffset(offset);
            const w = marks.get(partition);
            if (committedOffset === undefined || !w) continue; // never committed: no lag series
            const lag = w.high > committedOffset ? Number(w.high - committedOffset) : 0;
            const seconds = await lagSecondsOf(topic, partition, committedOffset, lag, at);
            const key = `${group}\0${topic}\0${partition}`;
            live.add(key);
            const window = windows.push(key, { committed: committedOffset, lag, at });
            partitions.push({
              topic,
              partition,
              committedOffset: committedOffset.toString(),
              highWatermark: w.high.toString(),
              lowWatermark: w.low.toString(),
              lag,
              lagSeconds: seconds.seconds,
              lagSecondsSource: seconds.source,
              status: evaluatePartitionStatus(window, windowSize, description.members > 0),
            });
          }
        }
        partitions.sort((x, y) => x.topic.localeCompare(y.topic) || x.partition - y.partition);
        groups.push({
          group,
          state: description.state,
          members: description.members,
          status: worstStatus(partitions.map((p) => p.status)),
          totalLag: partitions.reduce((sum, p) => sum + p.lag, 0),
          partitions,
        });
      } catch (err) {
        errors.push({ group, message: messageOf(err) });
      }
    }
    windows.retain(live);
    const snapshot: LagSnapshot = { at, groups, errors };
    latest = snapshot;
    return snapshot;
  };

  const poll = (): Promise<LagSnapshot> => {
    if (closed) return Promise.reject(new Error('the lag monitor is closed'));
    // One evaluation at a time: a slow cluster must not stack polls (or double-count window entries).
    if (!polling) {
      polling = pollOnce().finally(() => {
        polling = undefined;
      });
    }
    return polling;
  };

  return {
    intervalMs,
    windowSize,
    poll,
    latest: () => latest,
    start() {
      if (timer || closed) return;
      const deliver = (snapshot: LagSnapshot) => {
        try {
          options.onSnapshot?.(snapshot);
        } catch {
          // A throwing listener must not stop the monitor.
        }
      };
      const tick = () => {
        poll().then(deliver, (err: unknown) =>
          deliver({ at: now(), groups: latest?.groups ?? [], errors: [{ message: messageOf(err) }] }),
        );
      };
      tick();
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await polling?.catch(() => undefined);
      const closing: Promise<unknown>[] = [];
      if (admin) closing.push(admin.disconnect());
      if (reader) closing.push(reader.close());
      admin = undefined;
      reader = undefined;
      await Promise.allSettled(closing);
    },
  };
}

function parseOffset(offset: string): bigint | undefined {
  if (!/^\d+$/.test(offset)) return undefined; // "-1": no commit
  return BigInt(offset);
}

function positiveInt(value: number | undefined, fallback: number): number {
  return Number.isInteger(value) && (value as number) > 0 ? (value as number) : fallback;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
