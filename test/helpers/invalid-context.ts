/** Reads `hoptrace_invalid_context_total` from a registry as `{ reason: count }` (zero series left out). */
import type { MetricsRegistry } from '../../instrumentation/core/metrics.js';
import {
  LABEL_MESSAGING_SYSTEM,
  LABEL_REASON,
  METRIC_INVALID_CONTEXT,
} from '../../instrumentation/core/semconv.js';

export async function invalidCounts(
  registry: MetricsRegistry,
  system?: string,
): Promise<Record<string, number>> {
  const metric =
    registry.getSingleMetric(METRIC_INVALID_CONTEXT) ??
    registry.getSingleMetric(METRIC_INVALID_CONTEXT.replace(/_total$/, ''));
  if (!metric) return {};
  const counts: Record<string, number> = {};
  for (const value of (await metric.get()).values) {
    if (value.value === 0) continue;
    if (system !== undefined && value.labels[LABEL_MESSAGING_SYSTEM] !== system) continue;
    const reason = String(value.labels[LABEL_REASON]);
    counts[reason] = (counts[reason] ?? 0) + value.value;
  }
  return counts;
}

/** `after - before`, per reason, zeros left out. */
export function countsDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [reason, value] of Object.entries(after)) {
    const d = value - (before[reason] ?? 0);
    if (d !== 0) delta[reason] = d;
  }
  return delta;
}

/** `{ reason: count }` of a list of reasons. */
export function countReasons(reasons: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const reason of reasons) counts[reason] = (counts[reason] ?? 0) + 1;
  return counts;
}
