/**
 * The bus's lag, read at scrape time through the core's lag gauges: `hoptrace_consumer_lag_messages`
 * (queued + in flight) and `hoptrace_consumer_lag_seconds` (age of the oldest queued message) per
 * subscription. For brokers the collector measures lag; an in-process bus is only visible from inside,
 * so it reports its own.
 */

import { MESSAGING_SYSTEM_BUS } from '../core/semconv.js';
import { guardFor, lagGauges, type MetricsRegistry, metricsRegistry } from '../transport/index.js';
import type { Subscription } from './subscription.js';

interface LagSource {
  subscriptionList(): readonly Subscription[];
}

const removals = new WeakMap<LagSource, () => void>();

export function registerBusLag(registry: MetricsRegistry | undefined, source: LagSource): void {
  guardFor('bus').do('lag metrics', () => {
    const remove = lagGauges(registry ?? metricsRegistry).add((write) => {
      const now = Date.now();
      for (const subscription of source.subscriptionList()) {
        const labels = {
          messaging_system: MESSAGING_SYSTEM_BUS,
          messaging_destination_name: subscription.pattern,
          messaging_consumer_group_name: subscription.groupLabel,
          messaging_destination_partition_id: '',
        };
        write.messages(labels, subscription.pending);
        const oldest = subscription.snapshot().oldestQueuedPublishedAt;
        write.seconds(labels, oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000));
      }
    });
    removals.set(source, remove);
  });
}

export function unregisterBusLag(source: LagSource): void {
  removals.get(source)?.();
  removals.delete(source);
}
