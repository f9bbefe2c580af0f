/**
 * RabbitMQ monitor through the management HTTP API (one vhost): per queue the ready and unacked
 * depth, consumers, head-message age and consumer lag (= ready), and the depth of every queue that
 * is another queue's dead-letter target (resolution in ./dead-letter-targets.ts).
 *
 * Temporary and anonymous queues (exclusive, server-named `amq.gen-*`, a UUID in the name: the rule in
 * instrumentation/core/destinations.ts) are reported together under their placeholder, `(temporary)`
 * or `(anonymous)`, as the wrappers label them: counts summed, ages the oldest. Per-call reply queues
 * would otherwise make a series each, until they are gone.
 */
import { destinationPlaceholder, traitsOfName } from '../../instrumentation/core/destinations.js';
import { MESSAGING_SYSTEM_RABBITMQ } from '../../instrumentation/core/semconv.js';
import { MonitorError } from '../errors.js';
import type { BrokerReading, LagReading, Monitor, QueueReading } from '../types.js';
import {
  type BindingInfo,
  deadLetterTargets,
  type ExchangeInfo,
  type PolicyInfo,
  type QueueInfo,
} from './dead-letter-targets.js';

export interface RabbitMqMonitorSettings {
  /** Base URL of the management API, e.g. `http://127.0.0.1:15672`. */
  managementUrl: URL;
  vhost: string;
  username: string;
  password: string;
  intervalMs: number;
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
  'exclusive',
].join(',');
const PAGE_SIZE = 500;

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

/** A queue's label: its name, or the placeholder of a temporary (exclusive) or anonymous queue. */
export function queueLabel(q: Pick<QueueInfo, 'name' | 'exclusive'>): string {
  const byName = traitsOfName(q.name);
  const traits = { temporary: q.exclusive === true || byName.temporary, anonymous: byName.anonymous };
  return destinationPlaceholder(traits) ?? q.name;
}

/** The listings as a reading: queue depths, consumer lag (= ready) and dead-letter queue depths. */
export function queueReading(
  queues: QueueInfo[],
  dlqs: Map<string, Set<string>>,
  nowSeconds: number,
): BrokerReading {
  const labels = new Map(queues.map((q) => [q.name, queueLabel(q)]));
  const byLabel = new Map<string, QueueReading>();
  for (const q of queues) {
    const ready = q.messages_ready ?? 0;
    const unacked = q.messages_unacknowledged ?? 0;
    const head = headTimestampSeconds(q.head_message_timestamp, nowSeconds);
    const age = head === undefined ? undefined : Math.max(0, nowSeconds - head);
    const sources = dlqs.get(q.name);
    const destination = labels.get(q.name) ?? q.name;
    const reading: QueueReading = {
      destination,
      ready,
      unacked,
      consumers: q.consumers ?? 0,
      oldestAgeSeconds: age,
      deadLetterSources: sources ? [...new Set([...sources].map((s) => labels.get(s) ?? s))] : undefined,
      messages: q.messages ?? ready + unacked,
    };
    const same = byLabel.get(destination);
    if (same) merge(same, reading);
    else byLabel.set(destination, reading);
  }
  const queueReadings = [...byLabel.values()];
  // RabbitMQ has no consumer groups (the queue is the unit of competing consumers): the group
  // label is empty, as on the wrappers' series and the rabbitmq_prometheus adapter's.
  const lag: LagReading[] = queueReadings.map((q) => ({
    destination: q.destination,
    group: '',
    partition: '',
    messages: q.ready,
    seconds: q.oldestAgeSeconds,
  }));
  return { system: MESSAGING_SYSTEM_RABBITMQ, queues: queueReadings, lag };
}

/** Two queues under one placeholder: counts add up, the age is the oldest. */
function merge(into: QueueReading, q: QueueReading): void {
  into.ready += q.ready;
  into.unacked += q.unacked;
  into.consumers = (into.consumers ?? 0) + (q.consumers ?? 0);
  into.messages = (into.messages ?? 0) + (q.messages ?? 0);
  if (q.oldestAgeSeconds !== undefined)
    into.oldestAgeSeconds = Math.max(into.oldestAgeSeconds ?? 0, q.oldestAgeSeconds);
  if (q.deadLetterSources)
    into.deadLetterSources = [...new Set([...(into.deadLetterSources ?? []), ...q.deadLetterSources])];
}

export class RabbitMqMonitor implements Monitor {
  readonly source = 'rabbitmq';
  readonly intervalMs: number;
  private readonly auth: string;
  private readonly vhostPath: string;

  constructor(
    private readonly settings: RabbitMqMonitorSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.intervalMs = settings.intervalMs;
    this.auth = `Basic ${Buffer.from(`${settings.username}:${settings.password}`).toString('base64')}`;
    this.vhostPath = encodeURIComponent(settings.vhost);
  }

  async poll(signal: AbortSignal): Promise<BrokerReading> {
    const [queues, bindings, exchanges] = await Promise.all([
      this.listQueues(signal),
      this.get<BindingInfo[]>(
        `bindings/${this.vhostPath}?columns=source,destination,destination_type,routing_key`,
        signal,
      ),
      this.get<ExchangeInfo[]>(`exchanges/${this.vhostPath}?columns=name,type`, signal),
    ]);
    const policies = await this.policiesIfNeeded(queues, signal);
    return queueReading(queues, deadLetterTargets(queues, bindings, exchanges, policies), this.now() / 1000);
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

  /** Policies only when a queue names one whose definition the queue listing did not include. */
  private policiesIfNeeded(queues: QueueInfo[], signal: AbortSignal): Promise<PolicyInfo[]> {
    const needPolicies = queues.some(
      (q) =>
        q.policy &&
        (!q.effective_policy_definition || Object.keys(q.effective_policy_definition).length === 0),
    );
    return needPolicies ? this.get<PolicyInfo[]>(`policies/${this.vhostPath}`, signal) : Promise.resolve([]);
  }

  private async get<T>(path: string, signal: AbortSignal): Promise<T> {
    const url = new URL(
      `api/${path}`,
      this.settings.managementUrl.href.endsWith('/')
        ? this.settings.managementUrl
        : `${this.settings.managementUrl.href}/`,
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
}
