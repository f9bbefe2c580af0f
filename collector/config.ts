/**
 * Collector options, their defaults, and validation. `resolveConfig` never guesses: a bad value
 * fails startup with a `ConfigError` naming the option.
 */
import type { KafkaConfig } from 'kafkajs';
import { positiveInt, throwPolicy } from '../instrumentation/core/options.js';
import { DEFAULT_MONITORING_URL, type PubSubMonitorSettings } from '../monitors/pubsub/broker-monitor.js';
import type { SqsMonitorSettings } from '../monitors/sqs/broker-monitor.js';
import { ConfigError } from './errors.js';

export interface CollectorLimits {
  /** Largest accepted request body, checked on the wire and again after gunzip. Default 4 MiB. */
  maxBodyBytes: number;
  /** Request bytes being read or decoded at once; beyond it requests get 429. Default 32 MiB. */
  maxInFlightBytes: number;
  /** Ingest requests in progress at once; beyond it requests get 503. Default 64. */
  maxConcurrentRequests: number;
  /**
   * Event-loop utilization (percent) above which a growing share of ingest requests is answered 429 before
   * its body is decoded, so a flood gets fast answers instead of timeouts. 100 turns it off. Default 100
   * (off) for `startCollector`, because an embedded collector shares its event loop with the host
   * application; `hoptrace collector`, which runs alone in its process, defaults to 90.
   */
  shedAboveBusyPercent: number;
  /** Publishes and waiting deliveries tracked by the linker; the oldest are evicted. Default 100 000. */
  maxTrackedMessages: number;
  /** How long a publish stays linkable after it arrived. Default 10 min. */
  messageTtlMs: number;
  /** How long a delivery waits for its publish (out-of-order arrival) before it is an orphan. Default 30 s. */
  linkWindowMs: number;
  /** A publish with no delivery this long after it arrived counts as unconsumed. Default 60 s. */
  unconsumedDeadlineMs: number;
  /** Journeys (correlation IDs) kept for the API. Default 10 000. */
  maxJourneys: number;
  /** A journey is dropped this long after its last span. Default 10 min. */
  journeyTtlMs: number;
  /** Publishes + deliveries kept per journey; later ones are counted but not kept. Default 1 000. */
  maxJourneyEntries: number;
  /** Distinct destination (and service) label values per metric; the rest become `__other__`. Default 200. */
  maxLabelValues: number;
  /** How often deadlines and windows are checked. Default 1 s. */
  sweepIntervalMs: number;
}

export interface ForwardOptions {
  /** Spans waiting to be forwarded; beyond it new spans are dropped and counted. Default 20 000. */
  maxQueueSpans: number;
  /**
   * Approximate encoded bytes waiting to be forwarded (the size of the requests they came in); beyond it
   * new spans are dropped and counted, so large spans cannot fill memory while the target is slow.
   * Default 32 MiB.
   */
  maxQueueBytes: number;
  /** Spans per OTLP request. Default 512. */
  maxBatchSpans: number;
  /** A partial batch is sent after this long. Default 1 s. */
  flushIntervalMs: number;
  /** Tries per batch, first included. Default 5. */
  maxAttempts: number;
  /** First retry delay, doubled per try (with jitter), capped by `maxBackoffMs`. Default 500 ms. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Per request. Default 10 s. */
  timeoutMs: number;
  /** Extra request headers, e.g. authorization for the target. */
  headers: Record<string, string>;
}

export interface RabbitMqMonitorOptions {
  /** e.g. `http://guest:guest@127.0.0.1:15672` (credentials in the URL or below). */
  managementUrl: string;
  /** Only this vhost. Default `/`. */
  vhost?: string;
  username?: string;
  password?: string;
  /** Default 15 s. */
  intervalMs?: number;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
}

export interface BullMQMonitorOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379` (`rediss://` for TLS). */
  url: string;
  /** BullMQ's key prefix. Default `bull`. */
  prefix?: string;
  /** Queues to watch. Default: every queue under the prefix (found with SCAN each poll). */
  queues?: string[];
  /** Default 15 s. */
  intervalMs?: number;
}

export interface SqsMonitorOptions {
  /** Endpoint URL of an emulator (moto, LocalStack); omit for AWS itself. */
  endpoint?: string;
  /** Default `$AWS_REGION`, else `us-east-1`. */
  region?: string;
  /** Queue names or URLs to watch; default every queue `ListQueues` returns (up to 1000). */
  queues?: string[];
  /** Only queues whose name starts with this (when `queues` is not given). */
  queueNamePrefix?: string;
  /** Default: the AWS SDK's credential chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Default 15 s. */
  intervalMs?: number;
}

export interface PubSubMonitorOptions {
  projectId: string;
  /** `host:port` of an emulator (pstest, Google's emulator); omit for the real service. */
  emulatorHost?: string;
  /** Subscriptions to watch (their dead-letter subscriptions are added); default every one of the project. */
  subscriptions?: string[];
  /**
   * Read backlog and oldest-unacked age from Cloud Monitoring (the Pub/Sub API has no such figures).
   * Default true for the real service; emulators have no Cloud Monitoring.
   */
  backlog?: boolean;
  /** Default https://monitoring.googleapis.com. */
  monitoringUrl?: string;
  /** Default 15 s. */
  intervalMs?: number;
}

export interface KafkaMonitorOptions {
  brokers: string[];
  /** Consumer groups to watch: names, or a RegExp; default all groups. */
  groups?: string[] | RegExp;
  /** Topics to report: names, or a RegExp; default every topic a group commits. */
  topics?: string[] | RegExp;
  /** Default 5 s (docs/kafka.md: "Poll period and broker cost"). */
  intervalMs?: number;
  /** Status window: no progress for this long leaves OK; default 30 s. */
  windowMs?: number;
  clientId?: string;
  /** TLS as kafkajs takes it: `true`, or tls.connect options (`ca`, `cert`, `key`, `rejectUnauthorized`, ...). */
  ssl?: KafkaConfig['ssl'];
  /** SASL as kafkajs takes it: `{ mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', username, password }`. */
  sasl?: KafkaConfig['sasl'];
}

/** Horizontal scale-out through a Kafka topic; see docs/collector.md "Scale-out". */
export interface KafkaScaleOutOptions {
  brokers: string[];
  /** Topic carrying normalized messaging spans, keyed by correlation ID. */
  topic: string;
  /** Consumer group shared by the linking instances. Default `hoptrace-collector`. */
  groupId?: string;
  /** Publish spans received over OTLP to the topic instead of linking them here. Default true. */
  ingest?: boolean;
  /** Consume the topic and link. Default true. */
  link?: boolean;
  clientId?: string;
  /**
   * Base URLs of the instances' HTTP APIs (this one may be listed too), so `/api` and the UI of any
   * instance show the whole map and find any journey. Instances of one scale-out share the token.
   */
  peers?: string[];
}

/** The web UI at `/`. */
export interface UiOptions {
  /** Base URL of a Jaeger UI (e.g. `http://127.0.0.1:16686`): journeys link to their traces there. */
  jaegerUrl?: string;
  /** How often the page polls for updates. Default 2 s. */
  refreshMs?: number;
}

export interface CollectorOptions {
  /** Default 4318; 0 picks a free port (see `collector.port`). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** When set, `POST /v1/traces` and `/api/*` need `Authorization: Bearer <token>`. */
  token?: string;
  /** OTLP/HTTP traces endpoint that receives original and synthetic spans (e.g. Jaeger). */
  forwardOtlpUrl?: string;
  forward?: Partial<ForwardOptions>;
  kafka?: KafkaMonitorOptions;
  rabbitmq?: RabbitMqMonitorOptions;
  bullmq?: BullMQMonitorOptions;
  sqs?: SqsMonitorOptions;
  pubsub?: PubSubMonitorOptions;
  limits?: Partial<CollectorLimits>;
  scaleOut?: { kafka: KafkaScaleOutOptions };
  ui?: UiOptions;
  /** Clock for the linker (tests). Default `Date.now`. */
  now?: () => number;
}

export const DEFAULT_PORT = 4318;
export const DEFAULT_HOST = '127.0.0.1';

export const DEFAULT_LIMITS: Readonly<CollectorLimits> = Object.freeze({
  maxBodyBytes: 4 * 1024 * 1024,
  maxInFlightBytes: 32 * 1024 * 1024,
  maxConcurrentRequests: 64,
  shedAboveBusyPercent: 100,
  maxTrackedMessages: 100_000,
  messageTtlMs: 10 * 60_000,
  linkWindowMs: 30_000,
  unconsumedDeadlineMs: 60_000,
  maxJourneys: 10_000,
  journeyTtlMs: 10 * 60_000,
  maxJourneyEntries: 1_000,
  maxLabelValues: 200,
  sweepIntervalMs: 1_000,
});

export const DEFAULT_FORWARD: Readonly<ForwardOptions> = Object.freeze({
  maxQueueSpans: 20_000,
  maxQueueBytes: 32 * 1024 * 1024,
  maxBatchSpans: 512,
  flushIntervalMs: 1_000,
  maxAttempts: 5,
  initialBackoffMs: 500,
  maxBackoffMs: 30_000,
  timeoutMs: 10_000,
  headers: {},
});

export const DEFAULT_MONITOR_INTERVAL_MS = 15_000;
/** Kafka lag is polled more often: a 30 s stall must show (docs/kafka.md, "Poll period and broker cost"). */
export const DEFAULT_KAFKA_INTERVAL_MS = 5_000;
export const DEFAULT_KAFKA_WINDOW_MS = 30_000;

export interface ResolvedConfig {
  port: number;
  host: string;
  token: string | undefined;
  forwardOtlpUrl: URL | undefined;
  forward: ForwardOptions;
  kafka:
    | (Required<Omit<KafkaMonitorOptions, 'groups' | 'topics' | 'ssl' | 'sasl'>> &
        Pick<KafkaMonitorOptions, 'groups' | 'topics' | 'ssl' | 'sasl'>)
    | undefined;
  rabbitmq:
    | {
        managementUrl: URL;
        vhost: string;
        username: string;
        password: string;
        intervalMs: number;
        timeoutMs: number;
      }
    | undefined;
  bullmq: { url: string; prefix: string; queues: string[] | undefined; intervalMs: number } | undefined;
  sqs: SqsMonitorSettings | undefined;
  pubsub: PubSubMonitorSettings | undefined;
  limits: CollectorLimits;
  scaleOut: (Required<Omit<KafkaScaleOutOptions, 'peers'>> & { peers: URL[] }) | undefined;
  ui: { jaegerUrl: URL | undefined; refreshMs: number };
  now: () => number;
}

const OPTION_KEYS = new Set([
  'port',
  'host',
  'token',
  'forwardOtlpUrl',
  'forward',
  'kafka',
  'rabbitmq',
  'bullmq',
  'sqs',
  'pubsub',
  'limits',
  'scaleOut',
  'ui',
  'now',
]);

function checkKeys(what: string, value: object, allowed: Iterable<string>): void {
  const known = new Set(allowed);
  const unknown = Object.keys(value).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new ConfigError(`${what}: unknown option(s) ${unknown.join(', ')}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Bad config fails startup: the core's option resolver under the throw policy. */
const CONFIG = throwPolicy((message) => new ConfigError(message));

function httpUrl(name: string, value: unknown): URL {
  if (typeof value !== 'string' || value === '') throw new ConfigError(`${name} must be an http(s) URL`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Not echoed: the text may hold a password.
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must use http or https, got ${url.protocol}`);
  }
  return url;
}

function brokerList(name: string, value: unknown): string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((b) => typeof b === 'string' && /.+:\d+$/.test(b))
  ) {
    throw new ConfigError(`${name} must be a non-empty list of host:port strings`);
  }
  return value as string[];
}

/** The OTLP traces URL: a bare origin gets the conventional `/v1/traces` path. */
export function tracesUrl(url: URL): URL {
  const out = new URL(url);
  if (out.pathname === '' || out.pathname === '/') out.pathname = '/v1/traces';
  return out;
}

function resolveLimits(value: unknown): CollectorLimits {
  if (value === undefined) return { ...DEFAULT_LIMITS };
  if (!isObject(value)) throw new ConfigError('limits must be an object');
  checkKeys('limits', value, Object.keys(DEFAULT_LIMITS));
  const limits = { ...DEFAULT_LIMITS } as CollectorLimits;
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof CollectorLimits)[]) {
    if (value[key] !== undefined)
      limits[key] = positiveInt(CONFIG, `limits.${key}`, value[key], DEFAULT_LIMITS[key]);
  }
  if (limits.unconsumedDeadlineMs > limits.messageTtlMs) {
    throw new ConfigError('limits.unconsumedDeadlineMs must not exceed limits.messageTtlMs');
  }
  if (limits.linkWindowMs > limits.messageTtlMs) {
    throw new ConfigError('limits.linkWindowMs must not exceed limits.messageTtlMs');
  }
  if (limits.shedAboveBusyPercent > 100) {
    throw new ConfigError('limits.shedAboveBusyPercent must be from 1 to 100 (100 turns shedding off)');
  }
  if (limits.maxInFlightBytes < limits.maxBodyBytes) {
    throw new ConfigError('limits.maxInFlightBytes must be at least limits.maxBodyBytes');
  }
  return limits;
}

function resolveForward(value: unknown): ForwardOptions {
  if (value === undefined) return { ...DEFAULT_FORWARD, headers: {} };
  if (!isObject(value)) throw new ConfigError('forward must be an object');
  checkKeys('forward', value, Object.keys(DEFAULT_FORWARD));
  const out: ForwardOptions = { ...DEFAULT_FORWARD, headers: {} };
  for (const key of Object.keys(DEFAULT_FORWARD) as (keyof ForwardOptions)[]) {
    if (key === 'headers' || value[key] === undefined) continue;
    (out as unknown as Record<string, number>)[key] = positiveInt(
      CONFIG,
      `forward.${key}`,
      value[key],
      DEFAULT_FORWARD[key] as number,
    );
  }
  if (value.headers !== undefined) {
    if (!isObject(value.headers) || !Object.values(value.headers).every((v) => typeof v === 'string')) {
      throw new ConfigError('forward.headers must map header names to strings');
    }
    out.headers = { ...(value.headers as Record<string, string>) };
  }
  if (out.maxBatchSpans > out.maxQueueSpans)
    throw new ConfigError('forward.maxBatchSpans must not exceed forward.maxQueueSpans');
  return out;
}

function resolveRabbitMq(value: unknown): ResolvedConfig['rabbitmq'] {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new ConfigError('rabbitmq must be an object');
  checkKeys('rabbitmq', value, ['managementUrl', 'vhost', 'username', 'password', 'intervalMs', 'timeoutMs']);
  const url = httpUrl('rabbitmq.managementUrl', value.managementUrl);
  const username = value.username ?? (decodeURIComponent(url.username) || 'guest');
  const password = value.password ?? (decodeURIComponent(url.password) || 'guest');
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new ConfigError('rabbitmq.username and rabbitmq.password must be strings');
  }
  const clean = new URL(url);
  clean.username = '';
  clean.password = '';
  const vhost = value.vhost ?? '/';
  if (typeof vhost !== 'string' || vhost === '')
    throw new ConfigError('rabbitmq.vhost must be a non-empty string');
  return {
    managementUrl: clean,
    vhost,
    username,
    password,
    intervalMs: positiveInt(CONFIG, 'rabbitmq.intervalMs', value.intervalMs, DEFAULT_MONITOR_INTERVAL_MS),
    timeoutMs: positiveInt(CONFIG, 'rabbitmq.timeoutMs', value.timeoutMs, 10_000),
  };
}

function resolveBullMQ(value: unknown): ResolvedConfig['bullmq'] {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new ConfigError('bullmq must be an object');
  checkKeys('bullmq', value, ['url', 'prefix', 'queues', 'intervalMs']);
  let url: URL;
  try {
    url = new URL(String(value.url));
  } catch {
    throw new ConfigError('bullmq.url must be a redis:// or rediss:// URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new ConfigError('bullmq.url must be a redis:// or rediss:// URL');
  const prefix = value.prefix ?? 'bull';
  if (typeof prefix !== 'string' || prefix === '')
    throw new ConfigError('bullmq.prefix must be a non-empty string');
  const queues = value.queues;
  if (
    queues !== undefined &&
    (!Array.isArray(queues) || queues.length === 0 || !queues.every((q) => typeof q === 'string' && q !== ''))
  ) {
    throw new ConfigError('bullmq.queues must be a non-empty array of queue names');
  }
  return {
    url: String(value.url),
    prefix,
    queues: queues ? [...(queues as string[])] : undefined,
    intervalMs: positiveInt(CONFIG, 'bullmq.intervalMs', value.intervalMs, DEFAULT_MONITOR_INTERVAL_MS),
  };
}

function resolveSqs(value: unknown): ResolvedConfig['sqs'] {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new ConfigError('sqs must be an object');
  checkKeys('sqs', value, ['endpoint', 'region', 'queues', 'queueNamePrefix', 'credentials', 'intervalMs']);
  const endpoint = value.endpoint === undefined ? undefined : httpUrl('sqs.endpoint', value.endpoint).href;
  const region = value.region ?? process.env.AWS_REGION ?? 'us-east-1';
  if (typeof region !== 'string' || region === '')
    throw new ConfigError('sqs.region must be a non-empty string');
  const queues = value.queues;
  if (
    queues !== undefined &&
    (!Array.isArray(queues) || !queues.every((q) => typeof q === 'string' && q !== ''))
  ) {
    throw new ConfigError('sqs.queues must be a list of queue names or URLs');
  }
  const prefix = value.queueNamePrefix;
  if (prefix !== undefined && typeof prefix !== 'string')
    throw new ConfigError('sqs.queueNamePrefix must be a string');
  const credentials = value.credentials;
  if (
    credentials !== undefined &&
    (!isObject(credentials) ||
      typeof credentials.accessKeyId !== 'string' ||
      typeof credentials.secretAccessKey !== 'string')
  ) {
    throw new ConfigError('sqs.credentials needs accessKeyId and secretAccessKey strings');
  }
  return {
    endpoint,
    region,
    queues: queues as string[] | undefined,
    queueNamePrefix: prefix as string | undefined,
    credentials: credentials as SqsMonitorSettings['credentials'],
    intervalMs: positiveInt(CONFIG, 'sqs.intervalMs', value.intervalMs, DEFAULT_MONITOR_INTERVAL_MS),
  };
}

function resolvePubSub(value: unknown): ResolvedConfig['pubsub'] {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new ConfigError('pubsub must be an object');
  checkKeys('pubsub', value, [
    'projectId',
    'emulatorHost',
    'subscriptions',
    'backlog',
    'monitoringUrl',
    'intervalMs',
  ]);
  const { projectId, emulatorHost, subscriptions, backlog } = value;
  if (typeof projectId !== 'string' || !/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(projectId))
    throw new ConfigError('pubsub.projectId must be a Google Cloud project ID');
  if (
    emulatorHost !== undefined &&
    (typeof emulatorHost !== 'string' || !/^[^\s:/]+:\d{1,5}$/.test(emulatorHost))
  )
    throw new ConfigError('pubsub.emulatorHost must be host:port');
  if (
    subscriptions !== undefined &&
    (!Array.isArray(subscriptions) || !subscriptions.every((s) => typeof s === 'string' && s !== ''))
  ) {
    throw new ConfigError('pubsub.subscriptions must be a list of subscription names');
  }
  if (backlog !== undefined && typeof backlog !== 'boolean')
    throw new ConfigError('pubsub.backlog must be a boolean');
  const monitoringUrl =
    value.monitoringUrl === undefined
      ? DEFAULT_MONITORING_URL
      : httpUrl('pubsub.monitoringUrl', value.monitoringUrl).href;
  return {
    projectId,
    emulatorHost: emulatorHost as string | undefined,
    subscriptions: subscriptions as string[] | undefined,
    backlog: (backlog as boolean | undefined) ?? emulatorHost === undefined,
    monitoringUrl,
    intervalMs: positiveInt(CONFIG, 'pubsub.intervalMs', value.intervalMs, DEFAULT_MONITOR_INTERVAL_MS),
  };
}

function resolveKafka(value: unknown): ResolvedConfig['kafka'] {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new ConfigError('kafka must be an object');
  checkKeys('kafka', value, [
    'brokers',
    'groups',
    'topics',
    'intervalMs',
    'windowMs',
    'clientId',
    'ssl',
    'sasl',
  ]);
  const clientId = value.clientId ?? 'hoptrace-collector';
  if (typeof clientId !== 'string') throw new ConfigError('kafka.clientId must be a string');
  const { ssl, sasl } = value;
  if (ssl !== undefined && typeof ssl !== 'boolean' && !isObject(ssl))
    throw new ConfigError('kafka.ssl must be true or tls.connect options');
  if (sasl !== undefined) {
    if (!isObject(sasl)) throw new ConfigError('kafka.sasl must be { mechanism, username, password }');
    const mechanisms = ['plain', 'scram-sha-256', 'scram-sha-512', 'aws', 'oauthbearer'];
    if (typeof sasl.mechanism !== 'string' || !mechanisms.includes(sasl.mechanism))
      throw new ConfigError(`kafka.sasl.mechanism must be one of ${mechanisms.join(', ')}`);
  }
  const resolved: NonNullable<ResolvedConfig['kafka']> = {
    brokers: brokerList('kafka.brokers', value.brokers),
    groups: nameFilter('kafka.groups', value.groups),
    topics: nameFilter('kafka.topics', value.topics),
    intervalMs: positiveInt(CONFIG, 'kafka.intervalMs', value.intervalMs, DEFAULT_KAFKA_INTERVAL_MS),
    windowMs: positiveInt(CONFIG, 'kafka.windowMs', value.windowMs, DEFAULT_KAFKA_WINDOW_MS),
    clientId,
  };
  if (ssl !== undefined) resolved.ssl = ssl as KafkaConfig['ssl'];
  if (sasl !== undefined) resolved.sasl = sasl as unknown as KafkaConfig['sasl'];
  return resolved;
}

/** Names (a list of non-empty strings) or a RegExp. */
function nameFilter(what: string, value: unknown): string[] | RegExp | undefined {
  if (value === undefined || value instanceof RegExp) return value;
  if (!Array.isArray(value) || !value.every((g) => typeof g === 'string' && g !== ''))
    throw new ConfigError(`${what} must be a list of names or a RegExp`);
  return value as string[];
}

function resolveScaleOut(value: unknown): ResolvedConfig['scaleOut'] {
  if (value === undefined) return undefined;
  if (!isObject(value) || !isObject(value.kafka))
    throw new ConfigError('scaleOut must be { kafka: { brokers, topic } }');
  checkKeys('scaleOut', value, ['kafka']);
  const k = value.kafka;
  checkKeys('scaleOut.kafka', k, ['brokers', 'topic', 'groupId', 'ingest', 'link', 'clientId', 'peers']);
  if (k.peers !== undefined && !Array.isArray(k.peers))
    throw new ConfigError('scaleOut.kafka.peers must be a list of URLs');
  const peers = ((k.peers as unknown[] | undefined) ?? []).map((p, i) =>
    httpUrl(`scaleOut.kafka.peers[${i}]`, p),
  );
  if (typeof k.topic !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(k.topic)) {
    throw new ConfigError('scaleOut.kafka.topic must be a valid Kafka topic name');
  }
  for (const flag of ['ingest', 'link'] as const) {
    if (k[flag] !== undefined && typeof k[flag] !== 'boolean')
      throw new ConfigError(`scaleOut.kafka.${flag} must be a boolean`);
  }
  const groupId = k.groupId ?? 'hoptrace-collector';
  const clientId = k.clientId ?? 'hoptrace-collector';
  if (typeof groupId !== 'string' || typeof clientId !== 'string') {
    throw new ConfigError('scaleOut.kafka.groupId and clientId must be strings');
  }
  const resolved = {
    brokers: brokerList('scaleOut.kafka.brokers', k.brokers),
    topic: k.topic,
    groupId,
    ingest: (k.ingest as boolean | undefined) ?? true,
    link: (k.link as boolean | undefined) ?? true,
    clientId,
    peers,
  };
  if (!resolved.ingest && !resolved.link)
    throw new ConfigError('scaleOut.kafka: ingest and link cannot both be false');
  return resolved;
}

function resolveUi(value: unknown): ResolvedConfig['ui'] {
  if (value === undefined) return { jaegerUrl: undefined, refreshMs: 2_000 };
  if (!isObject(value)) throw new ConfigError('ui must be an object');
  checkKeys('ui', value, ['jaegerUrl', 'refreshMs']);
  const jaegerUrl = value.jaegerUrl === undefined ? undefined : httpUrl('ui.jaegerUrl', value.jaegerUrl);
  if (jaegerUrl && (jaegerUrl.username || jaegerUrl.password)) {
    throw new ConfigError('ui.jaegerUrl must not hold credentials (every page viewer would see them)');
  }
  return { jaegerUrl, refreshMs: positiveInt(CONFIG, 'ui.refreshMs', value.refreshMs, 2_000) };
}

/**
 * The forward target without credentials, which move into an `Authorization: Basic` header (unless
 * `forward.headers` sets one): fetch refuses URLs with credentials, and the URL appears in logs.
 */
function resolveForwardTarget(
  value: unknown,
  forward: ForwardOptions,
): { url: URL | undefined; forward: ForwardOptions } {
  if (value === undefined) return { url: undefined, forward };
  const url = tracesUrl(httpUrl('forwardOtlpUrl', value));
  if (!url.username && !url.password) return { url, forward };
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = '';
  url.password = '';
  const hasAuthorization = Object.keys(forward.headers).some((h) => h.toLowerCase() === 'authorization');
  const headers = hasAuthorization
    ? forward.headers
    : { ...forward.headers, authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
  return { url, forward: { ...forward, headers } };
}

export function resolveConfig(options: CollectorOptions = {}): ResolvedConfig {
  if (!isObject(options)) throw new ConfigError('options must be an object');
  const o: Record<string, unknown> = options;
  checkKeys('startCollector', o, OPTION_KEYS);
  const port = o.port ?? DEFAULT_PORT;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`port must be an integer 0-65535, got ${String(port)}`);
  }
  const host = o.host ?? DEFAULT_HOST;
  if (typeof host !== 'string' || host === '') throw new ConfigError('host must be a non-empty string');
  if (o.token !== undefined && (typeof o.token !== 'string' || o.token === '')) {
    throw new ConfigError('token must be a non-empty string');
  }
  if (o.now !== undefined && typeof o.now !== 'function') throw new ConfigError('now must be a function');
  const target = resolveForwardTarget(o.forwardOtlpUrl, resolveForward(o.forward));
  return {
    port,
    host,
    token: o.token as string | undefined,
    forwardOtlpUrl: target.url,
    forward: target.forward,
    kafka: resolveKafka(o.kafka),
    rabbitmq: resolveRabbitMq(o.rabbitmq),
    bullmq: resolveBullMQ(o.bullmq),
    sqs: resolveSqs(o.sqs),
    pubsub: resolvePubSub(o.pubsub),
    limits: resolveLimits(o.limits),
    scaleOut: resolveScaleOut(o.scaleOut),
    ui: resolveUi(o.ui),
    now: (o.now as (() => number) | undefined) ?? Date.now,
  };
}
