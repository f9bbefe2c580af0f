/**
 * Kafka consumer lag per group, topic and partition, in messages and in seconds, with a Burrow-style
 * status per group. Shared by the collector and `hoptrace lag`; free of collector imports.
 *
 * - Lag in messages = high watermark - committed offset, never negative (the high watermark, not the
 *   last stable offset: records of an open transaction count, as in kafka_exporter and kminion). A
 *   partition the group never committed has no lag entry; it is listed in `uncommitted`.
 * - Lag in seconds = age of the oldest unprocessed record: the first data record at or after the
 *   committed offset, read with one Fetch to the partition leader (see record-reader.ts) and cached per
 *   (partition, committed offset), so a group that does not move costs no fetch. When only transaction
 *   markers are left before the high watermark (a group caught up to a commit marker has lag 1), the
 *   group is caught up: 0 s, and the status counts it as lag 0. When the committed offset is below the
 *   log start offset (retention deleted records the group never read), `lostMessages` counts them and the
 *   age is the oldest record still there. Only when no record can be read is it interpolated from the
 *   (high watermark, time) history; a lower bound when that history is shorter than the lag.
 * - `lagSecondsGrowing`: the committed offset did not move since the previous evaluation, so the age
 *   grows with the clock until the next one (exporters add the time since `at` at scrape time).
 * - Status: see lag-status.ts (a time window, `windowMs`).
 */
import type { Admin, Kafka, KafkaConfig } from 'kafkajs';
import { LazyClient } from '../../instrumentation/core/lazy-client.js';
import { positiveInt, warnPolicy } from '../../instrumentation/core/options.js';
import { guardFor } from '../../instrumentation/core/safe.js';
import type { LagStatus } from '../../instrumentation/core/semconv.js';
import { evaluatePartitionStatus, LagWindows, worstStatus } from './lag-status.js';
import { createRecordReader, type OldestRecord, type RecordReader } from './record-reader.js';
import { WatermarkHistory } from './watermark-history.js';

export { evaluatePartitionStatus } from './lag-status.js';

export type LagSecondsSource = 'record' | 'interpolated' | 'caught_up';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** The group's committed offset: the next record it will read. */
  committedOffset: string;
  highWatermark: string;
  /** Log start offset: the oldest record the broker still has. */
  lowWatermark: string;
  /** high watermark - committed offset, >= 0. */
  lag: number;
  /** Records deleted (retention) before the group read them: log start - committed, else 0. */
  lostMessages: number;
  /** Nothing left to process: lag 0, or only transaction markers before the high watermark. */
  caughtUp: boolean;
  /** Age of the oldest unprocessed record at `at`; undefined when it could not be determined. */
  lagSeconds: number | undefined;
  lagSecondsSource: LagSecondsSource | undefined;
  /** The committed offset did not move since the previous evaluation: the age grows with the clock. */
  lagSecondsGrowing: boolean;
  status: LagStatus;
  /** False while the status window is shorter than `windowMs` (the OK is a default). */
  settled: boolean;
}

export interface GroupLag {
  group: string;
  /** Group state from DescribeGroups (`Stable`, `Empty`, ...). */
  state: string;
  members: number;
  /** Worst partition status; undefined when the group has no committed partition. */
  status: LagStatus | undefined;
  /** Every partition's status rests on a full window (or on being caught up). */
  settled: boolean;
  /** Sum of the partitions' lag. */
  totalLag: number;
  /** Sum of the partitions' lost messages. */
  lostMessages: number;
  partitions: PartitionLag[];
  /** Partitions of the topics the group reads (commits or assignments) that it never committed. */
  uncommitted: { topic: string; partitions: number[] }[];
}

export interface LagSnapshot {
  /** Epoch ms of the evaluation. */
  at: number;
  groups: GroupLag[];
  /** Groups (or the listing) that could not be read this time; the rest of the snapshot is valid. */
  errors: { group?: string; message: string }[];
}

/** Which groups or topics to watch: names, a regular expression, or a predicate. */
export type NameFilter = readonly string[] | RegExp | ((name: string) => boolean);

export interface KafkaLagMonitorOptions {
  /** A kafkajs client (instrumented or not); or give `brokers`. */
  kafka?: Kafka;
  /** Bootstrap brokers (`host:port`) when no `kafka` client is given. */
  brokers?: string[];
  clientId?: string;
  /** TLS, as kafkajs takes it (`true` or tls.connect options), when no `kafka` client is given. */
  ssl?: KafkaConfig['ssl'];
  /** SASL, as kafkajs takes it (`{ mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', username, password }`). */
  sasl?: KafkaConfig['sasl'];
  /** Groups to watch: names (exact), a RegExp or a predicate; default every consumer group the cluster lists. */
  groups?: NameFilter;
  /** Topics to report: names, a RegExp or a predicate; default every topic a group commits. */
  topics?: NameFilter;
  /** Poll period of `start()`; default 5000. */
  intervalMs?: number;
  /** Status window: the status leaves OK when the window shows no progress for this long; default 30000. */
  windowMs?: number;
  /** Read record timestamps for exact lag seconds; default true. False: interpolation only. */
  exactLagSeconds?: boolean;
  /** Called with every snapshot `start()` takes. */
  onSnapshot?: (snapshot: LagSnapshot) => void;
  /** Clock, for tests. */
  now?: () => number;
}

export const DEFAULT_LAG_INTERVAL_MS = 5_000;
export const DEFAULT_LAG_WINDOW_MS = 30_000;

/** What `poll()` read about a group before it is evaluated. */
interface GroupDescription {
  state: string;
  members: number;
  /** Topics in the members' assignments. */
  assigned: Set<string>;
}

type Watermarks = Map<number, { high: bigint; low: bigint }>;

const TIMESTAMP_CACHE_LIMIT = 10_000;

/** A name filter as a predicate. */
export function nameMatcher(filter: NameFilter | undefined): (name: string) => boolean {
  if (filter === undefined) return () => true;
  if (typeof filter === 'function') return filter;
  if (filter instanceof RegExp) {
    const re = new RegExp(filter.source, filter.flags.replace(/[gy]/g, '')); // no lastIndex state
    return (name) => re.test(name);
  }
  const names = new Set(filter);
  return (name) => names.has(name);
}

/**
 * One poll, step by step: `evaluate()` connects the admin client, lists the watched groups
 * (`watchedGroups`), describes them (`describeGroups`), then per group reads the committed offsets and
 * evaluates each partition (`evaluateGroup` -> `evaluatePartition`): lag in messages from the topic's
 * watermarks (`topicWatermarks`, read once per topic and poll), lag in seconds (`lagSecondsOf`), and the
 * sliding-window status. The public methods are bound: they can be passed around detached.
 */
export class KafkaLagMonitor {
  readonly intervalMs: number;
  /** Status window (ms). */
  readonly windowMs: number;
  private readonly now: () => number;
  private readonly windows: LagWindows;
  private readonly history = new WatermarkHistory();
  private readonly groupFilter: (group: string) => boolean;
  private readonly topicFilter: (topic: string) => boolean;
  /** Record timestamps by (topic, partition, committed offset): a group that does not move costs no fetch. */
  private readonly timestamps = new Map<string, number>();
  /** High watermark at which only markers followed an offset, by (topic, partition, offset). */
  private readonly markersOnly = new Map<string, bigint>();
  /** Committed offsets of the previous evaluation, by group and partition (for `lagSecondsGrowing`). */
  private previousCommitted = new Map<string, bigint>();
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
    this.intervalMs = positiveInt(policy, 'intervalMs', options.intervalMs, DEFAULT_LAG_INTERVAL_MS);
    this.windowMs = positiveInt(policy, 'windowMs', options.windowMs, DEFAULT_LAG_WINDOW_MS);
    this.now = options.now ?? Date.now;
    this.windows = new LagWindows(this.windowMs);
    this.kafka = options.kafka;
    this.groupFilter = nameMatcher(options.groups);
    this.topicFilter = nameMatcher(options.topics);
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
    const committedNow = new Map<string, bigint>();
    const groups: GroupLag[] = [];
    for (const group of groupIds) {
      try {
        const description = descriptions.get(group) ?? { state: 'Unknown', members: 0, assigned: new Set() };
        groups.push(await this.evaluateGroup(admin, group, description, watermarks, live, committedNow, at));
      } catch (err) {
        errors.push({ group, message: messageOf(err) });
        // Keep the group's previous offsets: one failed read must not look like progress.
        for (const [key, offset] of this.previousCommitted)
          if (key.startsWith(`${group}\0`)) committedNow.set(key, offset);
      }
    }
    this.windows.retain(live);
    this.previousCommitted = committedNow;
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
      ...(this.options.ssl !== undefined ? { ssl: this.options.ssl } : {}),
      ...(this.options.sasl !== undefined ? { sasl: this.options.sasl } : {}),
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 200 },
    });
    return this.kafka;
  }

  private async brokerReader(): Promise<RecordReader | undefined> {
    if (this.reader === undefined) this.reader = createRecordReader(await this.client()) ?? null;
    return this.reader ?? undefined;
  }

  private async recordReader(): Promise<RecordReader | undefined> {
    if (this.options.exactLagSeconds === false) return undefined;
    return this.brokerReader();
  }

  private async watchedGroups(admin: Admin): Promise<string[]> {
    const wanted = this.options.groups;
    if (Array.isArray(wanted)) return [...wanted];
    const { groups } = await admin.listGroups();
    return groups
      .filter((g) => g.protocolType === 'consumer' || g.protocolType === '')
      .map((g) => g.groupId)
      .filter((g) => this.groupFilter(g))
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
      const { AssignerProtocol } = await import('kafkajs');
      for (const g of groups) {
        const assigned = new Set<string>();
        for (const m of g.members) {
          try {
            const decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
            for (const topic of Object.keys(decoded?.assignment ?? {})) assigned.add(topic);
          } catch {
            // Not the consumer protocol's assignment: no topics from it.
          }
        }
        descriptions.set(g.groupId, { state: g.state, members: g.members.length, assigned });
      }
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
      pending = this.listWatermarks(admin, topic).then((offsets) => {
        const byPartition: Watermarks = new Map();
        for (const o of offsets) byPartition.set(o.partition, { high: BigInt(o.high), low: BigInt(o.low) });
        for (const [partition, w] of byPartition) this.history.record(`${topic}\0${partition}`, w.high, at);
        return byPartition;
      });
      cache.set(topic, pending);
    }
    return pending;
  }

  /** High watermarks through the reader's READ_UNCOMMITTED cluster; kafkajs' admin (last stable offsets) without it. */
  private async listWatermarks(admin: Admin, topic: string) {
    const reader = await this.brokerReader();
    return reader ? reader.watermarks(topic) : admin.fetchTopicOffsets(topic);
  }

  private async evaluateGroup(
    admin: Admin,
    group: string,
    description: GroupDescription,
    watermarks: Map<string, Promise<Watermarks>>,
    live: Set<string>,
    committedNow: Map<string, bigint>,
    at: number,
  ): Promise<GroupLag> {
    const committed = await admin.fetchOffsets({ groupId: group });
    const partitions: PartitionLag[] = [];
    const committedByTopic = new Map<string, Set<number>>();
    for (const { topic, partitions: offsets } of committed) {
      if (!this.topicFilter(topic)) continue;
      const marks = await this.topicWatermarks(admin, topic, watermarks, at);
      const seen = new Set<number>();
      committedByTopic.set(topic, seen);
      for (const { partition, offset } of offsets) {
        const committedOffset = parseOffset(offset);
        const w = marks.get(partition);
        if (committedOffset === undefined || !w) continue; // never committed: no lag series
        seen.add(partition);
        const key = `${group}\0${topic}\0${partition}`;
        const previous = this.previousCommitted.get(key);
        committedNow.set(key, committedOffset);
        partitions.push(
          await this.evaluatePartition(key, topic, partition, committedOffset, previous, w, description, at),
        );
        live.add(key);
      }
    }
    const uncommitted: GroupLag['uncommitted'] = [];
    const topics = new Set([
      ...committedByTopic.keys(),
      ...[...description.assigned].filter(this.topicFilter),
    ]);
    for (const topic of [...topics].sort()) {
      const marks = await this.topicWatermarks(admin, topic, watermarks, at);
      const seen = committedByTopic.get(topic) ?? new Set<number>();
      const missing = [...marks.keys()].filter((p) => !seen.has(p)).sort((x, y) => x - y);
      if (missing.length > 0) uncommitted.push({ topic, partitions: missing });
    }
    partitions.sort((x, y) => x.topic.localeCompare(y.topic) || x.partition - y.partition);
    return {
      group,
      state: description.state,
      members: description.members,
      status: worstStatus(partitions.map((p) => p.status)),
      settled: partitions.every((p) => p.settled),
      totalLag: partitions.reduce((sum, p) => sum + p.lag, 0),
      lostMessages: partitions.reduce((sum, p) => sum + p.lostMessages, 0),
      partitions,
      uncommitted,
    };
  }

  private async evaluatePartition(
    windowKey: string,
    topic: string,
    partition: number,
    committedOffset: bigint,
    previous: bigint | undefined,
    w: { high: bigint; low: bigint },
    description: GroupDescription,
    at: number,
  ): Promise<PartitionLag> {
    const lag = w.high > committedOffset ? Number(w.high - committedOffset) : 0;
    const lostMessages = w.low > committedOffset ? Number(w.low - committedOffset) : 0;
    // The oldest record the group can still read: the committed one, or the log start when retention took it.
    const oldest = lostMessages > 0 ? w.low : committedOffset;
    const seconds = await this.lagSecondsOf(topic, partition, oldest, lag, w.high, at);
    const caughtUp = seconds.source === 'caught_up';
    const window = this.windows.push(windowKey, { committed: committedOffset, lag: caughtUp ? 0 : lag, at });
    const { status, settled } = evaluatePartitionStatus(window, this.windowMs, description.members > 0);
    return {
      topic,
      partition,
      committedOffset: committedOffset.toString(),
      highWatermark: w.high.toString(),
      lowWatermark: w.low.toString(),
      lag,
      lostMessages,
      caughtUp,
      lagSeconds: seconds.seconds,
      lagSecondsSource: seconds.source,
      lagSecondsGrowing:
        !caughtUp &&
        seconds.seconds !== undefined &&
        (previous === undefined || previous === committedOffset),
      status,
      settled,
    };
  }

  /** Age of the oldest unprocessed record: read from the record, else from the watermark history. */
  private async lagSecondsOf(
    topic: string,
    partition: number,
    offset: bigint,
    lag: number,
    high: bigint,
    at: number,
  ): Promise<{ seconds: number | undefined; source: LagSecondsSource | undefined }> {
    if (lag === 0) return { seconds: 0, source: 'caught_up' };
    const oldest = await this.oldestRecord(topic, partition, offset, high);
    if (oldest === 'none') return { seconds: 0, source: 'caught_up' };
    if (oldest !== undefined) return { seconds: Math.max(0, (at - oldest) / 1000), source: 'record' };
    const estimated = this.history.appendedAt(`${topic}\0${partition}`, offset);
    if (estimated === undefined) return { seconds: undefined, source: undefined };
    return { seconds: Math.max(0, (at - estimated) / 1000), source: 'interpolated' };
  }

  private async oldestRecord(
    topic: string,
    partition: number,
    offset: bigint,
    high: bigint,
  ): Promise<OldestRecord | undefined> {
    const cacheKey = `${topic}\0${partition}\0${offset}`;
    const cached = this.timestamps.get(cacheKey);
    if (cached !== undefined) return cached;
    // Markers only up to this high watermark: the same answer until it moves.
    if (this.markersOnly.get(cacheKey) === high) return 'none';
    const reader = await this.recordReader();
    if (!reader) return undefined;
    let oldest: OldestRecord | undefined;
    try {
      oldest = await reader.oldestAt(topic, partition, offset.toString());
    } catch {
      oldest = undefined;
    }
    if (this.timestamps.size >= TIMESTAMP_CACHE_LIMIT) this.timestamps.clear();
    if (this.markersOnly.size >= TIMESTAMP_CACHE_LIMIT) this.markersOnly.clear();
    if (typeof oldest === 'number') this.timestamps.set(cacheKey, oldest);
    else if (oldest === 'none') this.markersOnly.set(cacheKey, high);
    return oldest;
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
