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
import { LazyClient } from '../../instrumentation/core/lazy-client.js';
import { positiveInt, warnPolicy } from '../../instrumentation/core/options.js';
import { guardFor } from '../../instrumentation/core/safe.js';
import type { LagStatus } from '../../instrumentation/core/semconv.js';
import { evaluatePartitionStatus, LagWindows, worstStatus } from './lag-status.js';
import { createRecordReader, type RecordReader } from './record-reader.js';
import { WatermarkHistory } from './watermark-history.js';

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

/** What `poll()` read about a group before it is evaluated. */
interface GroupDescription {
  state: string;
  members: number;
}

type Watermarks = Map<number, { high: bigint; low: bigint }>;

const TIMESTAMP_CACHE_LIMIT = 10_000;

/**
 * One poll, step by step: `evaluate()` connects the admin client, lists the watched groups
 * (`watchedGroups`), describes them (`describeGroups`), then per group reads the committed offsets and
 * evaluates each partition (`evaluateGroup` -> `evaluatePartition`): lag in messages from the topic's
 * watermarks (`topicWatermarks`, read once per topic and poll), lag in seconds (`lagSecondsOf`), and the
 * sliding-window status. The public methods are bound: they can be passed around detached.
 */
export class KafkaLagMonitor {
  readonly intervalMs: number;
  /** Evaluations per status window (Burrow's N). */
  readonly windowSize: number;
  private readonly now: () => number;
  private readonly windows: LagWindows;
  private readonly history = new WatermarkHistory();
  /** Record timestamps by (topic, partition, committed offset): a group that does not move costs no fetch. */
  private readonly timestamps = new Map<string, number>();
  private kafka: Kafka | undefined;
  private readonly admin = new LazyClient<Admin>(
    async () => (await this.client()).admin(),
    (admin) => admin.connect(),
    (admin) => admin.disconnect(),
  );
  private reader: RecordReader | undefined | null; // null: unavailable
  private last: LagSnapshot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private polling: Promise<LagSnapshot> | undefined;

  constructor(private readonly options: KafkaLagMonitorOptions) {
    const policy = warnPolicy(guardFor('kafka-lag'));
    this.intervalMs = positiveInt(policy, 'intervalMs', options.intervalMs, 15_000);
    this.windowSize = positiveInt(policy, 'windowSize', options.windowSize, 10);
    this.now = options.now ?? Date.now;
    this.windows = new LagWindows(this.windowSize);
    this.kafka = options.kafka;
  }

  /** Evaluates every watched group once. Never rejects for one group's failure (see `errors`). */
  readonly poll = (): Promise<LagSnapshot> => {
    if (this.closed) return Promise.reject(new Error('the lag monitor is closed'));
    // One evaluation at a time: a slow cluster must not stack polls (or double-count window entries).
    if (!this.polling) {
      this.polling = this.evaluate().finally(() => {
        this.polling = undefined;
      });
    }
    return this.polling;
  };

  /** The last snapshot, if any. */
  readonly latest = (): LagSnapshot | undefined => this.last;

  /** Polls every `intervalMs` until `close()`; the timer does not keep the process alive. */
  readonly start = (): void => {
    if (this.timer || this.closed) return;
    const tick = () => {
      this.poll().then(
        (snapshot) => this.deliver(snapshot),
        (err: unknown) =>
          this.deliver({
            at: this.now(),
            groups: this.last?.groups ?? [],
            errors: [{ message: messageOf(err) }],
          }),
      );
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  };

  readonly close = async (): Promise<void> => {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.polling?.catch(() => undefined);
    const closing: Promise<unknown>[] = [];
    closing.push(this.admin.close());
    if (this.reader) closing.push(this.reader.close());
    this.reader = undefined;
    await Promise.allSettled(closing);
  };

  private deliver(snapshot: LagSnapshot): void {
    try {
      this.options.onSnapshot?.(snapshot);
    } catch {
      // A throwing listener must not stop the monitor.
    }
  }

  private async evaluate(): Promise<LagSnapshot> {
    const at = this.now();
    const errors: LagSnapshot['errors'] = [];
    const admin = await this.admin.get();
    const groupIds = await this.watchedGroups(admin);
    const descriptions = await this.describeGroups(admin, groupIds, errors);
    const watermarks = new Map<string, Promise<Watermarks>>();
    const live = new Set<string>();
    const groups: GroupLag[] = [];
    for (const group of groupIds) {
      try {
        const description = descriptions.get(group) ?? { state: 'Unknown', members: 0 };
        groups.push(await this.evaluateGroup(admin, group, description, watermarks, live, at));
      } catch (err) {
        errors.push({ group, message: messageOf(err) });
      }
    }
    this.windows.retain(live);
    const snapshot: LagSnapshot = { at, groups, errors };
    this.last = snapshot;
    return snapshot;
  }

  private async client(): Promise<Kafka> {
    if (this.kafka) return this.kafka;
    if (!this.options.brokers || this.options.brokers.length === 0)
      throw new TypeError('createKafkaLagMonitor needs `kafka` or `brokers`');
    const { Kafka: KafkaClass, logLevel } = await import('kafkajs');
    this.kafka = new KafkaClass({
      clientId: this.options.clientId ?? 'hoptrace-lag',
      brokers: this.options.brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 200 },
    });
    return this.kafka;
  }

  private async recordReader(): Promise<RecordReader | undefined> {
    if (this.options.exactLagSeconds === false) return undefined;
    if (this.reader === undefined) this.reader = createRecordReader(await this.client()) ?? null;
    return this.reader ?? undefined;
  }

  private async watchedGroups(admin: Admin): Promise<string[]> {
    const wanted = this.options.groups;
    if (Array.isArray(wanted)) return [...wanted];
    const { groups } = await admin.listGroups();
    const filter = typeof wanted === 'function' ? wanted : () => true;
    return groups
      .filter((g) => g.protocolType === 'consumer' || g.protocolType === '')
      .map((g) => g.groupId)
      .filter((g) => filter(g))
      .sort();
  }

  private async describeGroups(
    admin: Admin,
    groupIds: string[],
    errors: LagSnapshot['errors'],
  ): Promise<Map<string, GroupDescription>> {
    const descriptions = new Map<string, GroupDescription>();
    if (groupIds.length === 0) return descriptions;
    try {
      const { groups } = await admin.describeGroups(groupIds);
      for (const g of groups) descriptions.set(g.groupId, { state: g.state, members: g.members.length });
    } catch (err) {
      errors.push({ message: `describeGroups: ${messageOf(err)}` });
    }
    return descriptions;
  }

  /** A topic's watermarks, read once per poll (`cache`) and noted in the watermark history. */
  private topicWatermarks(
    admin: Admin,
    topic: string,
    cache: Map<string, Promise<Watermarks>>,
    at: number,
  ): Promise<Watermarks> {
    let pending = cache.get(topic);
    if (!pending) {
      pending = admin.fetchTopicOffsets(topic).then((offsets) => {
        const byPartition: Watermarks = new Map();
        for (const o of offsets) byPartition.set(o.partition, { high: BigInt(o.high), low: BigInt(o.low) });
        for (const [partition, w] of byPartition) this.history.record(`${topic}\0${partition}`, w.high, at);
        return byPartition;
      });
      cache.set(topic, pending);
    }
    return pending;
  }

  private async evaluateGroup(
    admin: Admin,
    group: string,
    description: GroupDescription,
    watermarks: Map<string, Promise<Watermarks>>,
    live: Set<string>,
    at: number,
  ): Promise<GroupLag> {
    const committed = await admin.fetchOffsets({ groupId: group });
    const partitions: PartitionLag[] = [];
    for (const { topic, partitions: offsets } of committed) {
      const marks = await this.topicWatermarks(admin, topic, watermarks, at);
      for (const { partition, offset } of offsets) {
        const committedOffset = parseOffset(offset);
        const w = marks.get(partition);
        if (committedOffset === undefined || !w) continue; // never committed: no lag series
        const key = `${group}\0${topic}\0${partition}`;
        partitions.push(
          await this.evaluatePartition(key, topic, partition, committedOffset, w, description, at),
        );
        live.add(key);
      }
    }
    partitions.sort((x, y) => x.topic.localeCompare(y.topic) || x.partition - y.partition);
    return {
      group,
      state: description.state,
      members: description.members,
      status: worstStatus(partitions.map((p) => p.status)),
      totalLag: partitions.reduce((sum, p) => sum + p.lag, 0),
      partitions,
    };
  }

  private async evaluatePartition(
    windowKey: string,
    topic: string,
    partition: number,
    committedOffset: bigint,
    w: { high: bigint; low: bigint },
    description: GroupDescription,
    at: number,
  ): Promise<PartitionLag> {
    const lag = w.high > committedOffset ? Number(w.high - committedOffset) : 0;
    const seconds = await this.lagSecondsOf(topic, partition, committedOffset, lag, at);
    const window = this.windows.push(windowKey, { committed: committedOffset, lag, at });
    return {
      topic,
      partition,
      committedOffset: committedOffset.toString(),
      highWatermark: w.high.toString(),
      lowWatermark: w.low.toString(),
      lag,
      lagSeconds: seconds.seconds,
      lagSecondsSource: seconds.source,
      status: evaluatePartitionStatus(window, this.windowSize, description.members > 0),
    };
  }

  /** Age of the record at the committed offset: read from the record, else from the watermark history. */
  private async lagSecondsOf(
    topic: string,
    partition: number,
    committed: bigint,
    lag: number,
    at: number,
  ): Promise<{ seconds: number | undefined; source: LagSecondsSource | undefined }> {
    if (lag === 0) return { seconds: 0, source: 'caught_up' };
    const timestamp = await this.recordTimestamp(topic, partition, committed);
    if (timestamp !== undefined) return { seconds: Math.max(0, (at - timestamp) / 1000), source: 'record' };
    const estimated = this.history.appendedAt(`${topic}\0${partition}`, committed);
    if (estimated === undefined) return { seconds: undefined, source: undefined };
    return { seconds: Math.max(0, (at - estimated) / 1000), source: 'interpolated' };
  }

  private async recordTimestamp(
    topic: string,
    partition: number,
    offset: bigint,
  ): Promise<number | undefined> {
    const cacheKey = `${topic}\0${partition}\0${offset}`;
    let timestamp = this.timestamps.get(cacheKey);
    if (timestamp !== undefined) return timestamp;
    const reader = await this.recordReader();
    if (!reader) return undefined;
    try {
      timestamp = await reader.timestampAt(topic, partition, offset.toString());
    } catch {
      timestamp = undefined;
    }
    if (timestamp !== undefined) {
      if (this.timestamps.size >= TIMESTAMP_CACHE_LIMIT) this.timestamps.clear();
      this.timestamps.set(cacheKey, timestamp);
    }
    return timestamp;
  }
}

export function createKafkaLagMonitor(options: KafkaLagMonitorOptions): KafkaLagMonitor {
  return new KafkaLagMonitor(options);
}

function parseOffset(offset: string): bigint | undefined {
  if (!/^\d+$/.test(offset)) return undefined; // "-1": no commit
  return BigInt(offset);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
