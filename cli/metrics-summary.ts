/** A short, human-readable summary of the wrapper metrics in a registry, for the demo's last screen. */
import type { MetricsRegistry } from '../instrumentation/core/metrics.js';
import {
  METRIC_CONSUMED_MESSAGES,
  METRIC_DEAD_LETTERED,
  METRIC_IN_FLIGHT,
  METRIC_INVALID_CONTEXT,
  METRIC_PROCESS_DURATION,
  METRIC_SENT_MESSAGES,
} from '../instrumentation/core/semconv.js';

type Values = Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;

async function valuesOf(registry: MetricsRegistry, name: string): Promise<Values> {
  const metric = registry.getSingleMetric(name);
  return metric ? ((await metric.get()).values as Values) : [];
}

function sumBy(
  values: Values,
  key: (labels: Record<string, string | number>) => string,
): Map<string, number> {
  const totals = new Map<string, number>();
  for (const { labels, value } of values) {
    if (value === 0) continue;
    const k = key(labels);
    totals.set(k, (totals.get(k) ?? 0) + value);
  }
  return new Map([...totals].sort(([a], [b]) => a.localeCompare(b)));
}

export async function metricsSummary(registry: MetricsRegistry): Promise<string> {
  const lines: string[] = ['Metrics (hoptrace registry):'];
  const sent = sumBy(await valuesOf(registry, METRIC_SENT_MESSAGES), (l) =>
    String(l.messaging_destination_name),
  );
  lines.push(`  sent        ${[...sent].map(([d, n]) => `${d}=${n}`).join('  ')}`);

  const consumed = sumBy(
    await valuesOf(registry, METRIC_CONSUMED_MESSAGES),
    (l) => `${l.messaging_consumer_group_name || l.messaging_destination_name}\0${l.hoptrace_outcome}`,
  );
  const byGroup = new Map<string, string[]>();
  for (const [key, n] of consumed) {
    const [group, outcome] = key.split('\0') as [string, string];
    byGroup.set(group, [...(byGroup.get(group) ?? []), `${outcome}=${n}`]);
  }
  lines.push('  consumed');
  const width = Math.max(12, ...[...byGroup.keys()].map((g) => g.length + 2));
  for (const [group, parts] of byGroup) lines.push(`    ${group.padEnd(width)}${parts.join('  ')}`);

  const process = await valuesOf(registry, METRIC_PROCESS_DURATION);
  const groupOf = (l: Record<string, string | number>) =>
    String(l.messaging_consumer_group_name || l.messaging_destination_name);
  const sums = sumBy(
    process.filter((v) => v.metricName?.endsWith('_sum')),
    groupOf,
  );
  const counts = sumBy(
    process.filter((v) => v.metricName?.endsWith('_count')),
    groupOf,
  );
  if (counts.size > 0) {
    const parts = [...counts].map(
      ([g, count]) => `${g}=${(((sums.get(g) ?? 0) / count) * 1000).toFixed(1)}ms`,
    );
    lines.push(`  mean handler time  ${parts.join('  ')}`);
  }

  const dead = sumBy(
    await valuesOf(registry, METRIC_DEAD_LETTERED),
    (l) => `${l.messaging_destination_name} (${l.reason})`,
  );
  lines.push(
    `  dead-lettered      ${dead.size ? [...dead].map(([k, n]) => `${k}=${n}`).join('  ') : 'none'}`,
  );
  const inFlight = (await valuesOf(registry, METRIC_IN_FLIGHT)).reduce((total, v) => total + v.value, 0);
  lines.push(`  in flight          ${inFlight}`);
  const invalid = (await valuesOf(registry, METRIC_INVALID_CONTEXT)).reduce((total, v) => total + v.value, 0);
  lines.push(`  invalid context    ${invalid}`);
  return lines.join('\n');
}
