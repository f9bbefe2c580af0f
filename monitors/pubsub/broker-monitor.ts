/**
 * Pub/Sub subscription monitor. Two sources, because the Pub/Sub API itself has no backlog figures:
 *
 * - the Pub/Sub API (`@google-cloud/pubsub`, loaded on first poll; works on the real service and on
 *   emulators): the project's subscriptions, their topics and dead-letter policies, so dead-letter
 *   subscriptions are known with their sources;
 * - Cloud Monitoring (real service only, `backlog: true`): per subscription the backlog
 *   (`subscription/num_undelivered_messages`: unacked messages, delivered or not) and the age of the
 *   oldest unacked message (`subscription/oldest_unacked_message_age`), read over REST with the Pub/Sub
 *   client's own credentials (scope cloud-platform; permission `monitoring.timeSeries.list`).
 *
 * The backlog is written as `hoptrace_queue_messages{state="ready"}` and consumer lag in messages
 * (Pub/Sub does not split it into waiting and delivered: `unacked` stays 0); the oldest unacked age as
 * the queue's oldest age and lag in seconds. Emulators (pstest, Google's emulator) have no Cloud
 * Monitoring and no other source of these figures: there the monitor reports the topology only.
 */
import { MESSAGING_SYSTEM_GCP_PUBSUB } from '../../instrumentation/core/semconv.js';
import { MonitorError } from '../errors.js';
import type { BrokerReading, LagReading, Monitor, QueueReading } from '../types.js';

export interface PubSubMonitorSettings {
  projectId: string;
  /** `host:port` of an emulator; undefined for the real service. */
  emulatorHost: string | undefined;
  /** Subscription names (short or full) to watch; undefined: every subscription of the project. */
  subscriptions: string[] | undefined;
  /** Read backlog figures from Cloud Monitoring. Default: true for the real service, false on an emulator. */
  backlog: boolean;
  /** Cloud Monitoring base URL (tests point it at a fake). */
  monitoringUrl: string;
  intervalMs: number;
  /** Access token for Cloud Monitoring; default the Pub/Sub client's credentials (tests inject one). */
  accessToken?: () => Promise<string>;
}

export const DEFAULT_MONITORING_URL = 'https://monitoring.googleapis.com';
export const METRIC_UNDELIVERED = 'pubsub.googleapis.com/subscription/num_undelivered_messages';
export const METRIC_OLDEST_UNACKED_AGE = 'pubsub.googleapis.com/subscription/oldest_unacked_message_age';
/** Cloud Monitoring samples these every 60 s and may lag a few minutes: look back far enough for one point. */
const LOOKBACK_MS = 10 * 60 * 1000;
const MAX_SUBSCRIPTIONS = 1_000;

/** One subscription as the Pub/Sub API describes it. */
export interface SubscriptionInfo {
  name: string;
  topic: string;
  /** Short name of the topic the subscription's dead-letter policy forwards to. */
  deadLetterTopic: string | undefined;
}

/** Backlog figures per subscription short name, from Cloud Monitoring. */
export interface Backlog {
  undelivered: Map<string, number>;
  oldestAgeSeconds: Map<string, number>;
}

const short = (name: unknown): string =>
  typeof name === 'string' ? name.slice(name.lastIndexOf('/') + 1) : '';

/** Dead-letter subscription -> the subscriptions whose policy forwards to its topic. */
export function deadLetterSources(subs: readonly SubscriptionInfo[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const target of subs) {
    const sources = subs.filter((s) => s.deadLetterTopic === target.topic && s.name !== target.name);
    if (sources.length > 0) out.set(target.name, sources.map((s) => s.name).sort());
  }
  return out;
}

/** The reading: queues and lag only for subscriptions with backlog figures. */
export function pubsubReading(
  subs: readonly SubscriptionInfo[],
  backlog: Backlog | undefined,
): BrokerReading {
  if (!backlog) return { system: MESSAGING_SYSTEM_GCP_PUBSUB };
  const sources = deadLetterSources(subs);
  const queues: QueueReading[] = [];
  const lag: LagReading[] = [];
  for (const sub of subs) {
    const messages = backlog.undelivered.get(sub.name);
    if (messages === undefined) continue;
    const age = backlog.oldestAgeSeconds.get(sub.name);
    const queue: QueueReading = { destination: sub.name, ready: messages, unacked: 0, messages };
    if (age !== undefined) queue.oldestAgeSeconds = age;
    const dlqSources = sources.get(sub.name);
    if (dlqSources) queue.deadLetterSources = dlqSources;
    queues.push(queue);
    // A subscription is its consumers' group (as a RabbitMQ queue): the group label is empty.
    const reading: LagReading = { destination: sub.name, group: '', partition: '', messages };
    if (age !== undefined) reading.seconds = age;
    lag.push(reading);
  }
  return { system: MESSAGING_SYSTEM_GCP_PUBSUB, queues, lag };
}

interface TimeSeriesPage {
  timeSeries?: {
    resource?: { labels?: Record<string, string> };
    points?: { value?: { int64Value?: string | number; doubleValue?: number } }[];
  }[];
  nextPageToken?: string;
}

/** Latest value per subscription ID of one metric from a Cloud Monitoring `timeSeries.list` response. */
export function latestBySubscription(
  page: TimeSeriesPage,
  into = new Map<string, number>(),
): Map<string, number> {
  for (const series of page.timeSeries ?? []) {
    const id = series.resource?.labels?.subscription_id;
    const value = series.points?.[0]?.value; // points are newest first
    const n = Number(value?.int64Value ?? value?.doubleValue);
    if (id && Number.isFinite(n) && n >= 0) into.set(id, n);
  }
  return into;
}

/** The `timeSeries.list` URL for one metric over the look-back window. */
export function timeSeriesUrl(
  settings: PubSubMonitorSettings,
  metric: string,
  now: number,
  pageToken?: string,
): string {
  const url = new URL(
    `${settings.monitoringUrl.replace(/\/$/, '')}/v3/projects/${settings.projectId}/timeSeries`,
  );
  url.searchParams.set('filter', `metric.type = "${metric}" AND resource.type = "pubsub_subscription"`);
  url.searchParams.set('interval.startTime', new Date(now - LOOKBACK_MS).toISOString());
  url.searchParams.set('interval.endTime', new Date(now).toISOString());
  url.searchParams.set('view', 'FULL');
  if (pageToken) url.searchParams.set('pageToken', pageToken);
  return url.href;
}

interface PubSubLike {
  getSubscriptions(
    options?: object,
  ): Promise<[{ name: string; metadata?: Record<string, unknown> | null }[]]>;
  auth?: { getAccessToken(): Promise<string | null | undefined> };
  close(): Promise<void>;
}

export class PubSubMonitor implements Monitor {
  readonly source = 'pubsub';
  readonly intervalMs: number;
  private client: Promise<PubSubLike> | undefined;
  /** The subscriptions read in the last poll (the topology, also on emulators). */
  subscriptions: SubscriptionInfo[] = [];

  constructor(private readonly settings: PubSubMonitorSettings) {
    this.intervalMs = settings.intervalMs;
  }

  async poll(signal: AbortSignal): Promise<BrokerReading> {
    const client = await this.connect();
    let listed: Awaited<ReturnType<PubSubLike['getSubscriptions']>>[0];
    try {
      [listed] = await client.getSubscriptions({ gaxOpts: { timeout: this.intervalMs } });
    } catch (err) {
      throw new MonitorError(this.source, `ListSubscriptions failed: ${(err as Error)?.message ?? err}`, err);
    }
    const wanted = this.settings.subscriptions && new Set(this.settings.subscriptions.map(short));
    const all = listed.slice(0, MAX_SUBSCRIPTIONS).map((s) => ({
      name: short(s.name),
      topic: short(s.metadata?.topic),
      deadLetterTopic:
        short((s.metadata?.deadLetterPolicy as { deadLetterTopic?: unknown } | null)?.deadLetterTopic) ||
        undefined,
    }));
    // Watched subscriptions, plus the dead-letter subscriptions they forward to.
    const dlTopics = new Set(all.filter((s) => !wanted || wanted.has(s.name)).map((s) => s.deadLetterTopic));
    this.subscriptions = all.filter((s) => !wanted || wanted.has(s.name) || dlTopics.has(s.topic));
    const backlog = this.settings.backlog ? await this.readBacklog(client, signal) : undefined;
    return pubsubReading(this.subscriptions, backlog);
  }

  async close(): Promise<void> {
    const c = await this.client?.catch(() => undefined);
    await c?.close().catch(() => {});
  }

  private async readBacklog(client: PubSubLike, signal: AbortSignal): Promise<Backlog> {
    const token = await (this.settings.accessToken ?? (() => this.clientToken(client)))();
    const read = async (metric: string) => {
      const values = new Map<string, number>();
      let pageToken: string | undefined;
      const now = Date.now();
      do {
        let response: Response;
        try {
          response = await fetch(timeSeriesUrl(this.settings, metric, now, pageToken), {
            headers: { authorization: `Bearer ${token}` },
            signal,
          });
        } catch (err) {
          throw new MonitorError(this.source, `Cloud Monitoring unreachable: ${(err as Error).message}`, err);
        }
        if (!response.ok) {
          const body = (await response.text().catch(() => '')).slice(0, 200);
          throw new MonitorError(this.source, `Cloud Monitoring answered ${response.status}: ${body}`);
        }
        const page = (await response.json()) as TimeSeriesPage;
        latestBySubscription(page, values);
        pageToken = page.nextPageToken || undefined;
      } while (pageToken);
      return values;
    };
    const [undelivered, oldestAgeSeconds] = await Promise.all([
      read(METRIC_UNDELIVERED),
      read(METRIC_OLDEST_UNACKED_AGE),
    ]);
    return { undelivered, oldestAgeSeconds };
  }

  private async clientToken(client: PubSubLike): Promise<string> {
    try {
      const token = await client.auth?.getAccessToken();
      if (!token) throw new Error('no access token');
      return token;
    } catch (err) {
      throw new MonitorError(
        this.source,
        `no credentials for Cloud Monitoring: ${(err as Error).message}`,
        err,
      );
    }
  }

  private connect(): Promise<PubSubLike> {
    this.client ??= (async () => {
      let PubSub: new (options: object) => PubSubLike;
      try {
        ({ PubSub } = (await import('@google-cloud/pubsub')) as unknown as { PubSub: typeof PubSub });
      } catch (err) {
        throw new MonitorError(
          this.source,
          'cannot load @google-cloud/pubsub: install it to watch Pub/Sub',
          err,
        );
      }
      const { projectId, emulatorHost } = this.settings;
      return new PubSub(
        emulatorHost ? { projectId, apiEndpoint: emulatorHost, emulatorMode: true } : { projectId },
      );
    })();
    this.client.catch(() => {
      this.client = undefined;
    });
    return this.client;
  }
}
