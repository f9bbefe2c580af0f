/**
 * SQS monitor through the SQS API (`@aws-sdk/client-sqs`, loaded on first poll): per queue the visible
 * (ready), in-flight (unacked) and delayed counts, consumer lag in messages (= visible), and the depth of
 * every queue some watched queue's `RedrivePolicy` dead-letters into. SQS has no consumer count and no
 * oldest-message age among queue attributes (`ApproximateAgeOfOldestMessage` is a CloudWatch metric), so
 * neither is reported; the wrappers' `hoptrace_message_age_seconds` shows the age at receive.
 */
import { MESSAGING_SYSTEM_AWS_SQS } from '../../instrumentation/core/semconv.js';
import { MonitorError } from '../errors.js';
import type { BrokerReading, LagReading, Monitor, QueueReading } from '../types.js';

export interface SqsMonitorSettings {
  /** Endpoint URL (an emulator); undefined for AWS itself. */
  endpoint: string | undefined;
  region: string;
  /** Queue names or URLs; undefined: every queue `ListQueues` returns (with `queueNamePrefix`). */
  queues: string[] | undefined;
  queueNamePrefix: string | undefined;
  /** Static credentials; undefined: the SDK's default chain (environment, profile, role). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
  intervalMs: number;
}

/** The attributes read per queue. */
export const QUEUE_ATTRIBUTES = [
  'QueueArn',
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'RedrivePolicy',
] as const;
const MAX_QUEUES = 1_000;
const CONCURRENCY = 8;

interface SqsClientLike {
  send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  destroy?(): void;
}

interface SqsModule {
  SQSClient: new (config: object) => SqsClientLike;
  ListQueuesCommand: new (input: object) => unknown;
  GetQueueUrlCommand: new (input: object) => unknown;
  GetQueueAttributesCommand: new (input: object) => unknown;
}

export interface QueueAttributes {
  url: string;
  attributes: Record<string, string>;
}

const count = (value: string | undefined): number => {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : 0;
};

/** The last part of a queue ARN or URL. */
export function queueNameOfArnOrUrl(value: string): string {
  return value.slice(Math.max(value.lastIndexOf(':'), value.lastIndexOf('/')) + 1);
}

/** Dead-letter target queue name -> the queues whose `RedrivePolicy` names it. */
export function deadLetterTargets(queues: readonly QueueAttributes[]): Map<string, Set<string>> {
  const targets = new Map<string, Set<string>>();
  for (const q of queues) {
    const policy = q.attributes.RedrivePolicy;
    if (!policy) continue;
    let arn: unknown;
    try {
      arn = (JSON.parse(policy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn;
    } catch {
      continue;
    }
    if (typeof arn !== 'string' || arn === '') continue;
    const target = queueNameOfArnOrUrl(arn);
    const sources = targets.get(target) ?? new Set<string>();
    targets.set(target, sources);
    sources.add(queueNameOfArnOrUrl(q.url));
  }
  return targets;
}

/** The queues' attributes as a reading. */
export function sqsReading(queues: readonly QueueAttributes[]): BrokerReading {
  const dlqs = deadLetterTargets(queues);
  const readings: QueueReading[] = [];
  const lag: LagReading[] = [];
  for (const q of queues) {
    const name = queueNameOfArnOrUrl(q.url);
    const ready = count(q.attributes.ApproximateNumberOfMessages);
    const unacked = count(q.attributes.ApproximateNumberOfMessagesNotVisible);
    const delayed = count(q.attributes.ApproximateNumberOfMessagesDelayed);
    const sources = dlqs.get(name);
    readings.push({
      destination: name,
      ready,
      unacked,
      delayed,
      deadLetterSources: sources ? [...sources] : undefined,
      messages: ready + unacked + delayed,
    });
    // A queue is its consumers' group, as in RabbitMQ: the group label is empty.
    lag.push({ destination: name, group: '', partition: '', messages: ready });
  }
  return { system: MESSAGING_SYSTEM_AWS_SQS, queues: readings, lag };
}

export class SqsMonitor implements Monitor {
  readonly source = 'sqs';
  readonly intervalMs: number;
  private client: Promise<{ sdk: SqsModule; client: SqsClientLike }> | undefined;
  private readonly urls = new Map<string, string>();

  constructor(private readonly settings: SqsMonitorSettings) {
    this.intervalMs = settings.intervalMs;
  }

  async poll(signal: AbortSignal): Promise<BrokerReading> {
    const { sdk, client } = await this.connect();
    const send = async <T>(command: unknown, what: string): Promise<T> => {
      try {
        return (await client.send(command, { abortSignal: signal })) as T;
      } catch (err) {
        throw new MonitorError(
          this.source,
          `${what} failed: ${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? err}`,
          err,
        );
      }
    };
    const urls = await this.queueUrls(sdk, send);
    const queues = await this.attributesOf(urls, sdk, send);
    // Dead-letter queues outside the watched set are read too: their depth is the point.
    const watched = new Set(queues.map((q) => queueNameOfArnOrUrl(q.url)));
    const missing = [...deadLetterTargets(queues).keys()].filter((name) => !watched.has(name));
    if (missing.length > 0) {
      const extra = await Promise.all(
        missing.map((name) => this.urlOf(name, sdk, send).catch(() => undefined)),
      );
      queues.push(
        ...(await this.attributesOf(
          extra.filter((u): u is string => u !== undefined),
          sdk,
          send,
        )),
      );
    }
    return sqsReading(queues);
  }

  async close(): Promise<void> {
    const c = await this.client?.catch(() => undefined);
    c?.client.destroy?.();
  }

  private connect(): Promise<{ sdk: SqsModule; client: SqsClientLike }> {
    this.client ??= (async () => {
      let sdk: SqsModule;
      try {
        sdk = (await import('@aws-sdk/client-sqs')) as unknown as SqsModule;
      } catch (err) {
        throw new MonitorError(this.source, 'cannot load @aws-sdk/client-sqs: install it to watch SQS', err);
      }
      const { endpoint, region, credentials } = this.settings;
      const config: Record<string, unknown> = { region, maxAttempts: 2 };
      if (endpoint) config.endpoint = endpoint;
      if (credentials) config.credentials = credentials;
      return { sdk, client: new sdk.SQSClient(config) };
    })();
    this.client.catch(() => {
      this.client = undefined;
    });
    return this.client;
  }

  private async queueUrls(
    sdk: SqsModule,
    send: <T>(c: unknown, what: string) => Promise<T>,
  ): Promise<string[]> {
    const { queues, queueNamePrefix } = this.settings;
    if (queues) {
      const urls = await Promise.all(
        queues.map((q) =>
          /^https?:\/\//.test(q) ? Promise.resolve(q) : this.urlOf(q, sdk, send).catch(() => undefined),
        ),
      );
      return urls.filter((u): u is string => u !== undefined);
    }
    const urls: string[] = [];
    let token: string | undefined;
    do {
      const page = await send<{ QueueUrls?: string[]; NextToken?: string }>(
        new sdk.ListQueuesCommand({ QueueNamePrefix: queueNamePrefix, MaxResults: 1000, NextToken: token }),
        'ListQueues',
      );
      urls.push(...(page.QueueUrls ?? []));
      token = page.NextToken;
    } while (token && urls.length < MAX_QUEUES);
    return urls.slice(0, MAX_QUEUES);
  }

  private async urlOf(
    name: string,
    sdk: SqsModule,
    send: <T>(c: unknown, what: string) => Promise<T>,
  ): Promise<string> {
    const known = this.urls.get(name);
    if (known) return known;
    const r = await send<{ QueueUrl?: string }>(
      new sdk.GetQueueUrlCommand({ QueueName: name }),
      `GetQueueUrl ${name}`,
    );
    if (!r.QueueUrl) throw new MonitorError(this.source, `no URL for queue ${name}`);
    this.urls.set(name, r.QueueUrl);
    return r.QueueUrl;
  }

  /** Attributes of each queue; a queue deleted since it was listed is left out. */
  private async attributesOf(
    urls: string[],
    sdk: SqsModule,
    send: <T>(c: unknown, what: string) => Promise<T>,
  ): Promise<QueueAttributes[]> {
    const out: QueueAttributes[] = [];
    for (let i = 0; i < urls.length; i += CONCURRENCY) {
      const chunk = urls.slice(i, i + CONCURRENCY);
      const results = await Promise.all(
        chunk.map(async (url) => {
          try {
            const r = await send<{ Attributes?: Record<string, string> }>(
              new sdk.GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [...QUEUE_ATTRIBUTES] }),
              `GetQueueAttributes ${queueNameOfArnOrUrl(url)}`,
            );
            return { url, attributes: r.Attributes ?? {} };
          } catch (err) {
            const name = ((err as MonitorError).cause as Error | undefined)?.name ?? '';
            if (/QueueDoesNotExist|NonExistentQueue/.test(name)) return undefined;
            throw err;
          }
        }),
      );
      for (const r of results) if (r) out.push(r);
    }
    return out;
  }
}
