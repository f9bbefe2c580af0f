/**
 * The bus's lag, read at scrape time: `hoptrace_consumer_lag_messages` (queued + in flight) and
 * `hoptrace_consumer_lag_seconds` (age of the oldest queued message) per subscription. For brokers the
 * collector measures lag; an in-process bus is only visible from inside, so it reports its own.
 */
import { Gauge } from 'prom-client';
import { type MetricsRegistry, metricsRegistry } from '../core/metrics.js';
import { guardFor } from '../core/safe.js';
import {
  LABEL_CONSUMER_GROUP,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  LABEL_PARTITION,
  MESSAGING_SYSTEM_BUS,
  METRIC_CONSUMER_LAG_MESSAGES,
  METRIC_CONSUMER_LAG_SECONDS,
} from '../core/semconv.js';
import type { Subscription } from './subscription.js';

interface LagSource {
  subscriptionList(): readonly Subscription[];
}

const LABELS = [LABEL_MESSAGING_SYSTEM, LABEL_DESTINATION, LABEL_CONSUMER_GROUP, LABEL_PARTITION];
const sourcesByRegistry = new WeakMap<MetricsRegistry, Set<LagSource>>();
const registryOf = new WeakMap<LagSource, MetricsRegistry>();

export function registerBusLag(registry: MetricsRegistry | undefined, source: LagSource): void {
  const target = registry ?? metricsRegistry;
  guardFor('bus').do('lag metrics', () => {
    let sources = sourcesByRegistry.get(target);
    if (!sources) {
      sources = new Set();
      sourcesByRegistry.set(target, sources);
      createGauges(target, sources);
    }
    sources.add(source);
    registryOf.set(source, target);
  });
}

export function unregisterBusLag(source: LagSource): void {
  const registry = registryOf.get(source);
  if (registry) sourcesByRegistry.get(registry)?.delete(source);
}

function createGauges(registry: MetricsRegistry, sources: Set<LagSource>): void {
  if (
    registry.getSingleMetric(METRIC_CONSUMER_LAG_MESSAGES) ||
    registry.getSingleMetric(METRIC_CONSUMER_LAG_SECONDS)
  ) {
    guardFor('bus').warnOnce(
      'lag-clash',
      'consumer lag metrics already exist in the registry; the bus does not report its lag',
    );
    return;
  }
  // Both gauges are rebuilt from the live subscriptions at every scrape; nothing is kept between scrapes.
  const collectInto = (gauge: Gauge, value: (s: Subscription, now: number) => number | undefined) => {
    gauge.reset();
    const now = Date.now();
    for (const source of sources) {
      for (const subscription of source.subscriptionList()) {
        const v = value(subscription, now);
        if (v === undefined) continue;
        gauge.set(
          {
            [LABEL_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_BUS,
            [LABEL_DESTINATION]: subscription.pattern,
            [LABEL_CONSUMER_GROUP]: subscription.groupLabel,
            [LABEL_PARTITION]: '',
          },
          v,
        );
      }
    }
  };
  new Gauge({
    name: METRIC_CONSUMER_LAG_MESSAGES,
    help: 'Messages not yet processed by a consumer group (bus: queued plus in flight).',
    labelNames: LABELS,
    registers: [registry],
    collect() {
      collectInto(this, (s) => s.pending);
    },
  });
  new Gauge({
    name: METRIC_CONSUMER_LAG_SECONDS,
    help: 'Age of the oldest message a consumer group has not processed yet.',
    labelNames: LABELS,
    registers: [registry],
    collect() {
      collectInto(this, (s, now) => {
        const oldest = s.snapshot().oldestQueuedPublishedAt;
        return oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000);
      });
    },
  });
}
