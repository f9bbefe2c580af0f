/** Medians and paired ratios over the rounds of one workload. */
import type { Metric, Target, WorkloadSpec } from './suite.js';

export interface Sample {
  round: number;
  mode: string;
  value: number;
  extra: Record<string, number>;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface PairedRatio extends Spread {
  mode: string;
  versus: string;
  metric: Metric;
}

export interface Verdict {
  target: Target;
  measured: number | undefined;
  /** The spread over rounds (for a ratio: of the paired ratios). */
  min?: number;
  max?: number;
  met: boolean | undefined;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function spread(values: number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

export function metricOf(sample: Sample, metric: Metric): number | undefined {
  const value = metric === 'value' ? sample.value : sample.extra[metric];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function modeSpread(samples: Sample[], mode: string, metric: Metric): Spread | undefined {
  const values: number[] = [];
  for (const s of samples) {
    if (s.mode !== mode) continue;
    const v = metricOf(s, metric);
    if (v !== undefined) values.push(v);
  }
  return spread(values);
}

/** `mode / versus` in each round both ran, then median, min and max of those ratios. */
export function pairedRatio(
  samples: Sample[],
  mode: string,
  versus: string,
  metric: Metric,
): PairedRatio | undefined {
  const byRound = new Map<number, { a?: number; b?: number }>();
  for (const s of samples) {
    if (s.mode !== mode && s.mode !== versus) continue;
    const entry = byRound.get(s.round) ?? {};
    if (s.mode === mode) entry.a = metricOf(s, metric);
    else entry.b = metricOf(s, metric);
    byRound.set(s.round, entry);
  }
  const ratios: number[] = [];
  for (const { a, b } of byRound.values())
    if (a !== undefined && b !== undefined && b !== 0) ratios.push(a / b);
  const s = spread(ratios);
  return s && { ...s, mode, versus, metric };
}

/** The ratios a workload reports: every mode against the baseline, plus those its targets name. */
export function ratiosOf(spec: WorkloadSpec, samples: Sample[]): PairedRatio[] {
  const pairs: [string, string, Metric][] = [];
  if (spec.baselineRatios !== false) {
    for (const { metric } of spec.metrics) {
      for (const mode of spec.modes) if (mode !== spec.baseline) pairs.push([mode, spec.baseline, metric]);
    }
  }
  const add = (mode: string, versus: string, metric: Metric) => {
    if (!pairs.some(([m, v, k]) => m === mode && v === versus && k === metric))
      pairs.push([mode, versus, metric]);
  };
  for (const [mode, versus] of spec.pairs ?? [])
    for (const { metric } of spec.metrics) add(mode, versus, metric);
  for (const t of spec.targets) if (t.kind === 'ratio') add(t.mode, t.versus, t.metric);
  const out: PairedRatio[] = [];
  for (const [mode, versus, metric] of pairs) {
    const ratio = pairedRatio(samples, mode, versus, metric);
    if (ratio) out.push(ratio);
  }
  return out;
}

export function verdicts(spec: WorkloadSpec, samples: Sample[]): Verdict[] {
  return spec.targets.map((target) => {
    const spread =
      target.kind === 'ratio'
        ? pairedRatio(samples, target.mode, target.versus, target.metric)
        : modeSpread(samples, target.mode, target.metric);
    const measured = spread?.median;
    if (spread === undefined || measured === undefined) return { target, measured, met: undefined };
    const met =
      (target.atLeast === undefined || measured >= target.atLeast) &&
      (target.atMost === undefined || measured <= target.atMost) &&
      (target.kind !== 'ratio' || target.floor === undefined || spread.min >= target.floor);
    return { target, measured, min: spread.min, max: spread.max, met };
  });
}
