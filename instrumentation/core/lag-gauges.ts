/**
 * The consumer-lag gauges, defined once for everything that reports lag: the bus (its own queues), a
 * Kafka lag monitor registered by the application (`registerLagMetrics`) and the collector's broker
 * monitors. One name, one help text, one label set per gauge, and one rule on a name clash: a name that
 * already belongs to another metric in the registry is left alone (warned once; nothing is recorded).
 *
 * Two ways to fill them: sources added with `add` are read at scrape time (series of vanished groups
 * disappear with them), or values are `set` directly (the collector's monitors). A lag in seconds set
 * directly can be made to age (`aging`): at scrape time it reads its value plus the time since it was
 * measured, so a group that makes no progress shows its true age between polls.
 */
import { Gauge } from 'prom-client';
import type { MetricsRegistry } from './metrics.js';
import { guardFor } from './safe.js';
import {
  LABEL_CONSUMER_GROUP,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  LABEL_PARTITION,
  METRIC_CONSUMER_LAG_MESSAGES,
  METRIC_CONSUMER_LAG_SECONDS,
  METRIC_CONSUMER_LAG_STATUS,
} from './semconv.js';

export const LAG_LABELS = [
  LABEL_MESSAGING_SYSTEM,
  LABEL_DESTINATION,
  LABEL_CONSUMER_GROUP,
  LABEL_PARTITION,
] as const;
export const LAG_STATUS_LABELS = [LABEL_MESSAGING_SYSTEM, LABEL_CONSUMER_GROUP] as const;
export type LagLabel = (typeof LAG_LABELS)[number];
export type LagStatusLabel = (typeof LAG_STATUS_LABELS)[number];
export type LagLabels = Record<LagLabel, string>;
export type LagStatusLabels = Record<LagStatusLabel, string>;

export const LAG_GAUGE_HELP = {
  messages:
    'Messages a consumer group has not processed yet (Kafka: high watermark - committed offset; RabbitMQ: ready messages; bus: queued plus in flight).',
  seconds: 'Age of the oldest message a consumer group has not processed yet, in seconds.',
  status: 'Consumer group lag status from a sliding window: 0 OK, 1 WARN, 2 STALL, 3 STOP.',
} as const;

/** Where a source writes its series at scrape time. */
export interface LagWriter {
  messages(labels: LagLabels, value: number): void;
  seconds(labels: LagLabels, value: number): void;
  status(labels: LagStatusLabels, value: number): void;
}

/** Called at every scrape to write a source's current lag. */
export type LagSource = (write: LagWriter) => void;

/** Lag-in-seconds series that grow with the clock until they are set again. */
export interface SecondsAging {
  /** From now on the series reads `seconds + (now - atMs) / 1000` at scrape time; `atMs` undefined: a plain value again. */
  set(labels: LagLabels, seconds: number, atMs: number | undefined): void;
  remove(labels: LagLabels): void;
}

export interface LagGauges {
  readonly messages: Gauge<LagLabel>;
  readonly seconds: Gauge<LagLabel>;
  readonly status: Gauge<LagStatusLabel>;
  readonly aging: SecondsAging;
  /** Adds a source read at every scrape; returns its removal. */
  add(source: LagSource): () => void;
}

/** Lag seconds at `nowMs` of a value measured at `atMs` with no progress since: it ages with the clock. */
export function agedSeconds(seconds: number, atMs: number, nowMs: number): number {
  return seconds + Math.max(0, nowMs - atMs) / 1000;
}

const perRegistry = new WeakMap<MetricsRegistry, LagGauges>();
const IGNORE = (): void => {};

/** The lag gauges of `registry`, created (and registered, where the names are free) on first use. */
export function lagGauges(registry: MetricsRegistry): LagGauges {
  let gauges = perRegistry.get(registry);
  if (!gauges) {
    gauges = createLagGauges(registry);
    perRegistry.set(registry, gauges);
  }
  return gauges;
}

function createLagGauges(registry: MetricsRegistry): LagGauges {
  const guard = guardFor('metrics');
  const sources = new Set<LagSource>();
  // Once sources have reported, every scrape starts from zero, so a removed source's series go too.
  let sourced = false;
  const registersFor = (name: string): MetricsRegistry[] => {
    if (!registry.getSingleMetric(name)) return [registry];
    guard.warnOnce(
      `clash:${name}`,
      `metric ${name} already exists in the registry; hoptrace records nothing into it`,
    );
    return [];
  };
  const aging = new Map<string, { labels: LagLabels; seconds: number; at: number }>();
  const agingKey = (labels: LagLabels) => JSON.stringify(Object.entries(labels).sort());
  const collectFrom = (kind: keyof LagWriter) =>
    function collect(this: Gauge<string>): void {
      if (sourced) {
        this.reset();
        const set = (labels: Record<string, string>, value: number) => this.set(labels, value);
        const writer: LagWriter = { messages: IGNORE, seconds: IGNORE, status: IGNORE, [kind]: set };
        for (const source of sources) guard.do('lag source', () => source(writer));
      }
      if (kind !== 'seconds' || aging.size === 0) return;
      const now = Date.now();
      for (const a of aging.values()) this.set(a.labels, agedSeconds(a.seconds, a.at, now));
    };

  const messages = new Gauge<LagLabel>({
    name: METRIC_CONSUMER_LAG_MESSAGES,
    help: LAG_GAUGE_HELP.messages,
    labelNames: LAG_LABELS,
    registers: registersFor(METRIC_CONSUMER_LAG_MESSAGES),
    collect: collectFrom('messages'),
  });
  const seconds = new Gauge<LagLabel>({
    name: METRIC_CONSUMER_LAG_SECONDS,
    help: LAG_GAUGE_HELP.seconds,
    labelNames: LAG_LABELS,
    registers: registersFor(METRIC_CONSUMER_LAG_SECONDS),
    collect: collectFrom('seconds'),
  });
  const status = new Gauge<LagStatusLabel>({
    name: METRIC_CONSUMER_LAG_STATUS,
    help: LAG_GAUGE_HELP.status,
    labelNames: LAG_STATUS_LABELS,
    registers: registersFor(METRIC_CONSUMER_LAG_STATUS),
    collect: collectFrom('status'),
  });
  return {
    messages,
    seconds,
    status,
    aging: {
      set(labels, value, at) {
        if (at === undefined) aging.delete(agingKey(labels));
        else aging.set(agingKey(labels), { labels: { ...labels }, seconds: value, at });
      },
      remove(labels) {
        aging.delete(agingKey(labels));
      },
    },
    add(source) {
      sources.add(source);
      sourced = true;
      return () => {
        sources.delete(source);
      };
    },
  };
}
