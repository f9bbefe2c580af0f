/**
 * BullMQ monitor: reads BullMQ's queue structures in Redis (the same keys on 5.x and 6.x) with one
 * pipelined round trip per poll plus one for the oldest waiting jobs. Per queue:
 * - `hoptrace_queue_messages{state}`: ready (waiting), prioritized, unacked (active), delayed,
 *   waiting_children, completed;
 * - the failed set (BullMQ's dead-letter queue) as destination `<queue>:failed`:
 *   `hoptrace_dlq_messages{dead_letter_source=<queue>}` and its `hoptrace_queue_messages{state="ready"}`;
 * - `hoptrace_consumer_lag_messages` = waiting + prioritized, `hoptrace_consumer_lag_seconds` and
 *   `hoptrace_queue_oldest_message_age_seconds` = age of the oldest waiting job since it was due;
 * - `hoptrace_queue_paused` = 1 for a paused queue.
 * ioredis (BullMQ's own client, a peer) loads on first poll.
 */
import { MESSAGING_SYSTEM_BULLMQ } from '../../instrumentation/core/semconv.js';
import { MonitorError } from '../errors.js';
import type { BrokerReading, LagReading, Monitor, QueueReading } from '../types.js';

export interface BullMQMonitorSettings {
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. */
  url: string;
  /** BullMQ's key prefix; default `bull`. */
  prefix: string;
  /** Queues to watch; undefined: every queue found under the prefix (a SCAN per poll). */
  queues: readonly string[] | undefined;
  intervalMs: number;
}

/** Queues discovered by SCAN beyond this many are ignored (and the reading says so). */
export const MAX_DISCOVERED_QUEUES = 500;

/** What one queue's keys hold, as read from Redis. */
export interface QueueCounts {
  wait: number;
  /** Older BullMQ kept a paused queue's jobs in a `paused` list. */
  pausedList: number;
  active: number;
  delayed: number;
  prioritized: number;
  waitingChildren: number;
  completed: number;
  failed: number;
  paused: boolean;
  /** Epoch ms the oldest waiting job became due (added + delay); undefined with none waiting. */
  oldestDueAt: number | undefined;
}

/** The destination name of a queue's failed set: `<queue>:failed`, as its Redis key ends. */
export function failedSetName(queue: string): string {
  return `${queue}:failed`;
}

/** A reading from per-queue counts. */
export function bullmqReading(counts: ReadonlyMap<string, QueueCounts>, nowMs: number): BrokerReading {
  const queues: QueueReading[] = [];
  const lag: LagReading[] = [];
  for (const [name, c] of counts) {
    const waiting = c.wait + c.pausedList;
    const age = c.oldestDueAt === undefined ? undefined : Math.max(0, (nowMs - c.oldestDueAt) / 1000);
    queues.push({
      destination: name,
      ready: waiting,
      unacked: c.active,
      delayed: c.delayed,
      oldestAgeSeconds: age ?? (waiting + c.prioritized === 0 ? 0 : undefined),
      states: {
        prioritized: c.prioritized,
        waiting_children: c.waitingChildren,
        completed: c.completed,
      },
      paused: c.paused,
    });
    // The failed set is the queue's dead-letter queue, named apart (BullMQ queue names have no ':')
    // so lag and dead-letter rules tell the queue from its failed set.
    queues.push({
      destination: failedSetName(name),
      ready: c.failed,
      unacked: 0,
      deadLetterSources: [name],
      messages: c.failed,
    });
    lag.push({
      destination: name,
      group: '',
      partition: '',
      messages: waiting + c.prioritized,
      seconds: age ?? (waiting + c.prioritized === 0 ? 0 : undefined),
    });
  }
  return { system: MESSAGING_SYSTEM_BULLMQ, queues, lag };
}

interface RedisLike {
  pipeline(): PipelineLike;
  scan(cursor: string, ...args: (string | number)[]): Promise<[string, string[]]>;
  disconnect(): void;
}
interface PipelineLike {
  llen(key: string): PipelineLike;
  zcard(key: string): PipelineLike;
  hexists(key: string, field: string): PipelineLike;
  lindex(key: string, index: number): PipelineLike;
  hmget(key: string, ...fields: string[]): PipelineLike;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

export class BullMQMonitor implements Monitor {
  readonly source = 'bullmq';
  readonly intervalMs: number;
  private client: RedisLike | undefined;

  constructor(
    private readonly settings: BullMQMonitorSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.intervalMs = settings.intervalMs;
  }

  async poll(): Promise<BrokerReading> {
    const client = await this.connect();
    const names = this.settings.queues ?? (await this.discover(client));
    const key = (queue: string, part: string) => `${this.settings.prefix}:${queue}:${part}`;
    const pipeline = client.pipeline();
    for (const q of names) {
      pipeline
        .llen(key(q, 'wait'))
        .llen(key(q, 'paused'))
        .llen(key(q, 'active'))
        .zcard(key(q, 'delayed'))
        .zcard(key(q, 'prioritized'))
        .zcard(key(q, 'waiting-children'))
        .zcard(key(q, 'completed'))
        .zcard(key(q, 'failed'))
        .hexists(key(q, 'meta'), 'paused')
        // Jobs are pushed on the left and taken from the right: the oldest waiting job is last.
        .lindex(key(q, 'wait'), -1)
        .lindex(key(q, 'paused'), -1);
    }
    const replies = await this.exec(pipeline);
    const PER_QUEUE = 11;
    const counts = new Map<string, QueueCounts>();
    const oldest: [string, string][] = [];
    names.forEach((q, i) => {
      const r = replies.slice(i * PER_QUEUE, (i + 1) * PER_QUEUE);
      const n = (j: number) => Number(r[j] ?? 0) || 0;
      counts.set(q, {
        wait: n(0),
        pausedList: n(1),
        active: n(2),
        delayed: n(3),
        prioritized: n(4),
        waitingChildren: n(5),
        completed: n(6),
        failed: n(7),
        paused: n(8) === 1,
        oldestDueAt: undefined,
      });
      const head = typeof r[9] === 'string' ? r[9] : typeof r[10] === 'string' ? r[10] : undefined;
      if (head) oldest.push([q, head]);
    });
    if (oldest.length > 0) {
      const jobs = client.pipeline();
      for (const [q, id] of oldest) jobs.hmget(key(q, id), 'timestamp', 'delay');
      const fields = await this.exec(jobs);
      oldest.forEach(([q, _id], i) => {
        const [timestamp, delay] = (fields[i] as [string | null, string | null] | undefined) ?? [null, null];
        const added = Number(timestamp);
        if (!Number.isFinite(added) || added <= 0) return;
        const entry = counts.get(q);
        if (entry) entry.oldestDueAt = added + (Number(delay) || 0);
      });
    }
    return bullmqReading(counts, this.now());
  }

  async close(): Promise<void> {
    this.client?.disconnect();
    this.client = undefined;
  }

  private async connect(): Promise<RedisLike> {
    if (this.client) return this.client;
    let Redis: new (url: string, options: object) => RedisLike;
    try {
      ({ Redis } = (await import('ioredis')) as unknown as { Redis: typeof Redis });
    } catch (err) {
      throw new MonitorError(this.source, 'the bullmq monitor needs the ioredis package installed', err);
    }
    // Fail a poll fast instead of queueing commands while Redis is away; reconnects in the background.
    this.client = new Redis(this.settings.url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: false,
      connectTimeout: Math.min(this.intervalMs, 10_000),
    });
    (this.client as unknown as { on(event: string, fn: () => void): void }).on('error', () => {});
    return this.client;
  }

  private async exec(pipeline: PipelineLike): Promise<unknown[]> {
    let replies: Array<[Error | null, unknown]> | null;
    try {
      replies = await pipeline.exec();
    } catch (err) {
      throw new MonitorError(this.source, `Redis: ${(err as Error).message}`, err);
    }
    if (!replies) throw new MonitorError(this.source, 'Redis pipeline aborted');
    const failed = replies.find(([err]) => err);
    if (failed) throw new MonitorError(this.source, `Redis: ${failed[0]!.message}`, failed[0]);
    return replies.map(([, value]) => value);
  }

  /** Queue names from their `meta` keys (every BullMQ queue has one). */
  private async discover(client: RedisLike): Promise<string[]> {
    const prefix = `${this.settings.prefix}:`;
    const names = new Set<string>();
    let cursor = '0';
    try {
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*:meta`, 'COUNT', 1000);
        cursor = next;
        for (const k of keys) {
          const name = k.slice(prefix.length, -':meta'.length);
          if (name) names.add(name);
        }
      } while (cursor !== '0' && names.size < MAX_DISCOVERED_QUEUES);
    } catch (err) {
      throw new MonitorError(this.source, `Redis SCAN: ${(err as Error).message}`, err);
    }
    return [...names].sort().slice(0, MAX_DISCOVERED_QUEUES);
  }
}
