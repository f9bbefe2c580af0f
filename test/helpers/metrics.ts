import type { MetricsRegistry } from '../../instrumentation/core/metrics.js';

/** The value of one series: counters by labels; histograms give their observation count. */
export async function metricValue(
  registry: MetricsRegistry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name.replace(/_total$/, '')) ?? registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  const isHistogram = String(data.type) === 'histogram';
  let total = 0;
  for (const value of data.values) {
    const metricName = (value as { metricName?: string }).metricName;
    if (isHistogram && metricName !== `${name}_count`) continue;
    if (Object.entries(labels).every(([k, v]) => value.labels[k] === v)) total += value.value;
  }
  return total;
}
