/**
 * The metric names dashboards may query: the contract's (semconv `METRIC_*`, with the series a
 * histogram exposes) and the recording rules' outputs.
 */
import { buildRecordingRules } from '../../alerts/src/rules.js';
import * as semconv from '../../instrumentation/core/semconv.js';

/** Contract metrics that are histograms (`_bucket`, `_sum`, `_count` series). */
export const CONTRACT_HISTOGRAMS: readonly string[] = [
  semconv.METRIC_OPERATION_DURATION,
  semconv.METRIC_PROCESS_DURATION,
  semconv.METRIC_MESSAGE_AGE,
  semconv.METRIC_FLOW_AGE,
  semconv.METRIC_HOP_LATENCY,
  semconv.METRIC_FANOUT_DELIVERIES,
];

/** Histograms whose observations carry `trace_id`/`span_id` exemplars (CONTRACT.md). */
export const EXEMPLAR_HISTOGRAMS: readonly string[] = [
  semconv.METRIC_PROCESS_DURATION,
  semconv.METRIC_MESSAGE_AGE,
  semconv.METRIC_FLOW_AGE,
  semconv.METRIC_HOP_LATENCY,
];

export function contractMetricNames(): Set<string> {
  const names = new Set<string>();
  for (const [key, value] of Object.entries(semconv)) {
    if (key.startsWith('METRIC_') && typeof value === 'string') names.add(value);
  }
  for (const histogram of CONTRACT_HISTOGRAMS) {
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${histogram}${suffix}`);
  }
  return names;
}

export function recordedMetricNames(): Set<string> {
  return new Set(buildRecordingRules().groups.flatMap((g) => g.rules.map((r) => r.record)));
}
