/**
 * Counters, gauges and histograms with a cheap message path, registered in ordinary prom-client
 * registries. prom-client hashes the label object on every `inc`/`observe`; here a wrapper resolves a
 * series once (`child(labels)`) and updates plain numbers after that. prom-client still renders them:
 * each metric implements the `get()` shape its registry serializes, so Prometheus text, OpenMetrics
 * (with exemplars), `getMetricsAsJSON` and `Registry.merge` work unchanged.
 */
import { type SpanContext, TraceFlags } from '@opentelemetry/api';
import type { MetricsRegistry } from './metrics.js';

export type LabelValues = Readonly<Record<string, string>>;
type MetricType = 'counter' | 'gauge' | 'histogram';

interface ExemplarRecord {
  labelSet: Record<string, string>;
  value: number;
  timestamp: number;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
  exemplar?: ExemplarRecord;
}

interface MetricConfig {
  name: string;
  help: string;
  labelNames: readonly string[];
  registers: MetricsRegistry[];
}

abstract class StoredMetric<S extends { labels: LabelValues }> {
  /** prom-client rewrites `name` of counters while rendering OpenMetrics; keep it a plain property. */
  name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly aggregator = 'sum';
  abstract readonly type: MetricType;
  protected readonly series = new Map<string, S>();

  constructor(config: MetricConfig) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    for (const registry of config.registers) registry.registerMetric(this as never);
  }

  /** The series for `labels`, created on first use. Resolve once and keep it: updates are then O(1). */
  protected seriesFor(labels: LabelValues): S {
    let key = '';
    for (const name of this.labelNames) key += `${labels[name] ?? ''}\u0001`;
    let series = this.series.get(key);
    if (!series) {
      const own: Record<string, string> = {};
      for (const name of this.labelNames) own[name] = labels[name] ?? '';
      series = this.createSeries(own);
      this.series.set(key, series);
    }
    return series;
  }

  protected abstract createSeries(labels: LabelValues): S;
  protected abstract values(): MetricValue[];

  async get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.values(),
    };
  }

  reset(): void {
    this.series.clear();
  }
}

export interface CounterSeries {
  readonly labels: LabelValues;
  inc(by?: number): void;
}

export class FastCounter extends StoredMetric<CounterSeries & { value: number }> {
  readonly type = 'counter';

  child(labels: LabelValues): CounterSeries {
    return this.seriesFor(labels);
  }

  protected createSeries(labels: LabelValues) {
    const series = {
      labels,
      value: 0,
      inc(by = 1) {
        if (by >= 0) series.value += by;
      },
    };
    return series;
  }

  protected values(): MetricValue[] {
    return [...this.series.values()].map((s) => ({ labels: { ...s.labels }, value: s.value }));
  }
}

export interface GaugeSeries {
  readonly labels: LabelValues;
  inc(by?: number): void;
  dec(by?: number): void;
  set(value: number): void;
}

export class FastGauge extends StoredMetric<GaugeSeries & { value: number }> {
  readonly type = 'gauge';

  child(labels: LabelValues): GaugeSeries {
    return this.seriesFor(labels);
  }

  protected createSeries(labels: LabelValues) {
    const series = {
      labels,
      value: 0,
      inc(by = 1) {
        series.value += by;
      },
      dec(by = 1) {
        series.value -= by;
      },
      set(value: number) {
        series.value = value;
      },
    };
    return series;
  }

  protected values(): MetricValue[] {
    return [...this.series.values()].map((s) => ({ labels: { ...s.labels }, value: s.value }));
  }
}

export interface HistogramSeries {
  readonly labels: LabelValues;
  /**
   * Records `value`. With the span context of a sampled span the bucket keeps it as its exemplar
   * (`trace_id`, `span_id`), timestamped `timestampMs` (epoch ms, default now).
   */
  observe(value: number, exemplar?: SpanContext, timestampMs?: number): void;
}

/**
 * The last exemplar of each bucket, kept as the span context and numbers it was given: the label set and
 * record prom-client renders are built at scrape time, not on every observation.
 */
interface BucketExemplars {
  spans: (SpanContext | undefined)[];
  values: Float64Array;
  timestamps: Float64Array;
}

interface HistogramState extends HistogramSeries {
  /** Per-bucket counts (not cumulative); the last slot is +Inf. */
  counts: Float64Array;
  exemplars: BucketExemplars | undefined;
  sum: number;
  count: number;
}

export class FastHistogram extends StoredMetric<HistogramState> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];
  private readonly withExemplars: boolean;

  constructor(config: MetricConfig & { buckets: readonly number[]; exemplars: boolean }) {
    super(config);
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    this.withExemplars = config.exemplars;
  }

  child(labels: LabelValues): HistogramSeries {
    return this.seriesFor(labels);
  }

  protected createSeries(labels: LabelValues): HistogramState {
    const bounds = this.bounds;
    const slots = bounds.length + 1;
    const series: HistogramState = {
      labels,
      counts: new Float64Array(slots),
      exemplars: this.withExemplars
        ? {
            spans: new Array(slots).fill(undefined),
            values: new Float64Array(slots),
            timestamps: new Float64Array(slots),
          }
        : undefined,
      sum: 0,
      count: 0,
      observe(value: number, exemplar?: SpanContext, timestampMs?: number) {
        if (!Number.isFinite(value)) return;
        let i = 0;
        while (i < bounds.length && value > (bounds[i] as number)) i++;
        series.counts[i] = (series.counts[i] as number) + 1;
        series.sum += value;
        series.count++;
        const exemplars = series.exemplars;
        if (exemplars && exemplar && (exemplar.traceFlags & TraceFlags.SAMPLED) !== 0) {
          exemplars.spans[i] = exemplar;
          exemplars.values[i] = value;
          exemplars.timestamps[i] = timestampMs ?? Date.now();
        }
      },
    };
    return series;
  }

  protected values(): MetricValue[] {
    const out: MetricValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i] as number;
        const value: MetricValue = {
          labels: { ...s.labels, le: i < this.bounds.length ? (this.bounds[i] as number) : '+Inf' },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        };
        const span = s.exemplars?.spans[i];
        if (span && s.exemplars) {
          value.exemplar = {
            labelSet: { trace_id: span.traceId, span_id: span.spanId },
            value: s.exemplars.values[i] as number,
            timestamp: (s.exemplars.timestamps[i] as number) / 1000,
          };
        }
        out.push(value);
      }
      out.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      out.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return out;
  }
}
