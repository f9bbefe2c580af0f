/**
 * RabbitMQ monitor through the management HTTP API (one vhost): per queue the ready and unacked
 * depth, consumers, head-message age and consumer lag (= ready), and the depth of every queue that
 * is another queue's dead-letter target.
 *
 * Dead-letter targets: a queue's dead-letter exchange and routing key come from its
 * `x-dead-letter-exchange` / `x-dead-letter-routing-key` arguments, else from its effective policy's
 * `dead-letter-exchange` / `dead-letter-routing-key` (arguments win, as in RabbitMQ). The exchange is
 * resolved to queues through the vhost's bindings: the default exchange routes to the queue named by
 * the routing key; fanout to every bound queue; direct and topic by the routing key (every bound
 * queue when no dead-letter routing key is set, since messages keep their own keys); headers
 * exchanges to every bound queue. Exchange-to-exchange bindings are not followed.
 */

import type { ResolvedConfig } from '../../collector/config.js';
import { MonitorError } from '../../collector/errors.js';
import type { CollectorMetrics } from '../../collector/metrics.js';
import { MESSAGING_SYSTEM_RABBITMQ } from '../../instrumentation/core/semconv.js';
import { GaugeSeries } from '../series.js';
import type { Monitor } from '../types.js';

type RabbitMqConfig = NonNullable<ResolvedConfig['rabbitmq']>;

export interface QueueInfo {
  name: string;
  messages?: number;
  messages_ready?: number;
  messages_unacknowledged?: number;
  consumers?: number;
  arguments?: Record<string, unknown>;
  policy?: string | null;
  effective_policy_definition?: Record<string, unknown> | unknown[] | null;
  /** Seconds since the epoch: the `timestamp` property of the head message (classic queues). */
  head_message_timestamp?: number | null;
}

export interface BindingInfo {
  source: string;
  destination: string;
  destination_type: string;
  routing_key: string;
}

export interface ExchangeInfo {
  name: string;
  type: string;
}

export interface PolicyInfo {
  name: string;
  definition: Record<string, unknown>;
}

const QUEUE_COLUMNS = [
  'name',
  'messages',
  'messages_ready',
  'messages_unacknowledged',
  'consumers',
  'arguments',
  'policy',
  'effective_policy_definition',
  'head_message_timestamp',
].join(',');
const PAGE_SIZE = 500;

/** AMQP topic pattern match: `*` one word, `#` zero or more words. */
export function topicMatches(pattern: string, key: string): boolean {
  const p = pattern.split('.');
  const k = key.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') {
      for (let skip = j; skip <= k.length; skip++) if (match(i + 1, skip)) return true;
      return false;
    }
    if (j === k.length) return false;
    return (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function policyDefinition(
  queue: QueueInfo,
  policies: Map<string, Record<string, unknown>>,
): Record<string, unknown> {
  const effective = queue.effective_policy_definition;
  if (effective && !Array.isArray(effective) && Object.keys(effective).length > 0) return effective;
  return (queue.policy && policies.get(queue.policy)) || {};
}

/** Dead-letter queue name -> names of the queues that dead-letter into it. */
export function deadLetterTargets(
  queues: QueueInfo[],
  bindings: BindingInfo[],
  exchanges: ExchangeInfo[],
  policies: PolicyInfo[] = [],
): Map<string, Set<string>> {
  const policyByName = new Map(policies.map((p) => [p.name, p.definition]));
  const exchangeType = new Map(exchanges.map((e) => [e.name, e.type]));
  const queueNames = new Set(queues.map((q) => q.name));
  const out = new Map<string, Set<string>>();
  const add = (target: string, source: string) => {
    if (target === source || !queueNames.has(target)) return;
    let sources = out.get(target);
    if (!sources) {
      sources = new Set();
      out.set(target, sources);
    }
    sources.add(source);
  };
  for (const queue of queues) {
    const args = queue.arguments ?? {};
    const policy = policyDefinition(queue, policyByName);
    const exchange = str(args['x-dead-letter-exchange']) ?? str(policy['dead-letter-exchange']);
    if (exchange === undefined) continue;
    const routingKey = str(args['x-dead-letter-routing-key']) ?? str(policy['dead-letter-routing-key']);
    if (exchange === '' || exchange === 'amq.default') {
      if (routingKey !== undefined) add(routingKey, queue.name);
      continue;
    }
    const type = exchangeType.get(exchange);
    for (const b of bindings) {
      if (b.source !== exchange || b.destination_type !== 'queue') continue;
      const matches =
        type === 'fanout' ||
        routingKey === undefined ||
        (type === 'direct' && b.routing_key === routingKey) ||
        (type === 'topic' && topicMatches(b.routing_key, routingKey)) ||
        (type !== 'direct' && type !== 'topic');
      if (matches) add(b.destination, queue.name);
    }
  }
  return out;
}

/**
 * The head message's publish time in Unix seconds, from `head_message_timestamp` (the AMQP
 * `timestamp` property). AMQP defines seconds, but many clients write `Date.now()`: a value over a
 * hundred times the current Unix time can only be milliseconds (as the rabbitmq_prometheus adapter
 * in alerts/ reads it too).
 */
export function headTimestampSeconds(value: unknown, nowSeconds: number): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return undefined;
  return value > 100 * nowSeconds ? value / 1000 : value;
}

export class RabbitMqMonitor implements Monitor {
  readonly source = 'rabbitmq';
  readonly intervalMs: number;
  private readonly auth: string;
  private readonly vhostPath: string;
  private readonly queueMessages: GaugeSeries<'messaging_system' | 'messaging_destination_name' | 'state'>;
  private readonly queueConsumers: GaugeSeries<'messaging_system' | 'messaging_destination_name'>;
  private readonly oldestAge: GaugeSeries<'messaging_system' | 'messaging_destination_name'>;
  private readonly dlq: GaugeSeries<'messaging_system' | 'messaging_destination_name' | 'dead_letter_source'>;
  private readonly lagMessages: GaugeSeries<
    | 'messaging_system'
    | 'messaging_destination_name'
    | 'messaging_consumer_group_name'
    | 'messaging_destination_partition_id'
  >;
  private readonly lagSeconds: GaugeSeries<
    | 'messaging_system'
    | 'messaging_destination_name'
    | 'messaging_consumer_group_name'
    | 'messaging_destination_partition_id'
  >;

  constructor(
    private readonly config: RabbitMqConfig,
    metrics: CollectorMetrics,
    private readonly now: () => number = Date.now,
  ) {
    this.intervalMs = config.intervalMs;
    this.auth = `Basic ${Buffer.from(`${config.username}:${config.password}`).toString('base64')}`;
    this.vhostPath = encodeURIComponent(config.vhost);
    this.queueMessages = new GaugeSeries(metrics.queueMessages);
    this.queueConsumers = new GaugeSeries(metrics.queueConsumers);
    this.oldestAge = new GaugeSeries(metrics.queueOldestAge);
    this.dlq = new GaugeSeries(metrics.dlqMessages);
    this.lagMessages = new GaugeSeries(metrics.lagMessages);
    this.lagSeconds = new GaugeSeries(metrics.lagSeconds);
  }

  private async get<T>(path: string, signal: AbortSignal): Promise<T> {
    const url = new URL(
      `api/${path}`,
      this.config.managementUrl.href.endsWith('/')
        ? this.config.managementUrl
        : `${this.config.managementUrl.href}/`,
    );
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { authorization: this.auth, accept: 'application/json' },
        signal,
      });
    } catch (err) {
      throw new MonitorError(this.source, `GET ${url.pathname} failed: ${(err as Error).message}`, err);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new MonitorError(this.source, `GET ${url.pathname}: HTTP ${response.status}`);
    }
    try {
      return (await response.json()) as T;
    } catch (err) {
      throw new MonitorError(this.source, `GET ${url.pathname}: invalid JSON`, err);
    }
  }

  async listQueues(signal: AbortSignal): Promise<QueueInfo[]> {
    const queues: QueueInfo[] = [];
    for (let page = 1; ; page++) {
      const body = await this.get<{ items?: QueueInfo[]; page_count?: number }>(
        `queues/${this.vhostPath}?columns=${QUEUE_COLUMNS}&page=${page}&page_size=${PAGE_SIZE}`,
        signal,
      );
      if (!Array.isArray(body.items)) throw new MonitorError(this.source, 'unexpected /api/queues response');
      queues.push(...body.items);
      if (page >= (body.page_count ?? 1)) return queues;
    }
  }

  async poll(signal: AbortSignal): Promise<void> {
    const [queues, bindings, exchanges] = await Promise.all([
      this.listQueues(signal),
      this.get<BindingInfo[]>(
        `bindings/${this.vhostPath}?columns=source,destination,destination_type,routing_key`,
        signal,
      ),
      this.get<ExchangeInfo[]>(`exchanges/${this.vhostPath}?columns=name,type`, signal),
    ]);
    // Policies only when a queue names one whose definition the queue listing did not include.
    const needPolicies = queues.some(
      (q) =>
        q.policy &&
        (!q.effective_policy_definition || Object.keys(q.effective_policy_definition).length === 0),
    );
    const policies = needPolicies ? await this.get<PolicyInfo[]>(`policies/${this.vhostPath}`, signal) : [];
    this.record(queues, deadLetterTargets(queues, bindings, exchanges, policies));
  }

  /** Sets every gauge in one synchronous step, so a scrape never sees half a poll. */
  private record(queues: QueueInfo[], dlqs: Map<string, Set<string>>): void {
    const system = MESSAGING_SYSTEM_RABBITMQ;
    const nowSeconds = this.now() / 1000;
    for (const q of queues) {
      const base = { messaging_system: system, messaging_destination_name: q.name };
      const ready = q.messages_ready ?? 0;
      this.queueMessages.set({ ...base, state: 'ready' }, ready);
      this.queueMessages.set({ ...base, state: 'unacked' }, q.messages_unacknowledged ?? 0);
      this.queueConsumers.set(base, q.consumers ?? 0);
      // RabbitMQ has no consumer groups (the queue is the unit of competing consumers): the group
      // label is empty, as on the wrappers' series and the rabbitmq_prometheus adapter's.
      const lagLabels = {
        ...base,
        messaging_consumer_group_name: '',
        messaging_destination_partition_id: '',
      };
      this.lagMessages.set(lagLabels, ready);
      const head = headTimestampSeconds(q.head_message_timestamp, nowSeconds);
      if (head !== undefined) {
        const age = Math.max(0, nowSeconds - head);
        this.oldestAge.set(base, age);
        this.lagSeconds.set(lagLabels, age);
      }
      const sources = dlqs.get(q.name);
      if (sources) {
        this.dlq.set(
          { ...base, dead_letter_source: [...sources].sort().join(',') },
          q.messages ?? ready + (q.messages_unacknowledged ?? 0),
        );
      }
    }
    for (const series of [
      this.queueMessages,
      this.queueConsumers,
      this.oldestAge,
      this.dlq,
      this.lagMessages,
      this.lagSeconds,
    ]) {
      series.commit();
    }
  }
}
