/**
 * Panel and query helpers: every hoptrace panel queries the templated Prometheus data source, has a
 * unit and a description, and names its queries A, B, C... so failures point at one query.
 */
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import {
  BarGaugeDisplayMode,
  BigValueGraphMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  StackingConfigBuilder,
  StackingMode,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizOrientation,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  MappingType,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { PROMETHEUS } from './variables.js';

/** Grafana unit ids; `suffix:` is Grafana's custom-unit syntax. */
export const UNIT = {
  messagesPerSecond: 'suffix:msg/s',
  spansPerSecond: 'suffix:spans/s',
  messages: 'short',
  seconds: 's',
  ratio: 'percentunit',
  count: 'short',
  state: 'none',
} as const;

export interface QuerySpec {
  expr: string;
  legend: string;
  /** Ask Prometheus for exemplars (histograms with trace IDs): Grafana links them to Jaeger. */
  exemplar?: boolean;
  /** One value per series at the end of the range (tables, bar gauges, stats). */
  instant?: boolean;
}

export interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  queries: QuerySpec[];
  /** Grid width (of 24) and height. */
  width?: number;
  height?: number;
}

function targets(queries: QuerySpec[]): DataqueryBuilder[] {
  return queries.map((q, i) => {
    const target = new DataqueryBuilder()
      .datasource(PROMETHEUS)
      .refId(String.fromCharCode(65 + i))
      .expr(q.expr)
      .legendFormat(q.legend)
      .exemplar(q.exemplar ?? false);
    return q.instant ? target.instant() : target.range();
  });
}

function legend() {
  return new VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(LegendDisplayMode.Table)
    .placement(LegendPlacement.Bottom)
    .calcs(['mean', 'lastNotNull', 'max']);
}

export function timeseriesPanel(spec: PanelSpec & { stacked?: boolean; min?: number }) {
  const panel = new timeseries.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(PROMETHEUS)
    .unit(spec.unit)
    .targets(targets(spec.queries))
    .span(spec.width ?? 12)
    .height(spec.height ?? 8)
    .legend(legend())
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending))
    .fillOpacity(spec.stacked ? 30 : 10)
    .lineWidth(1);
  if (spec.stacked) panel.stacking(new StackingConfigBuilder().mode(StackingMode.Normal));
  if (spec.min !== undefined) panel.min(spec.min);
  return panel;
}

function thresholds(steps: { value: number | null; color: string }[]) {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps);
}

export function statPanel(
  spec: PanelSpec & { steps?: { value: number | null; color: string }[]; mappings?: ValueMapping[] },
) {
  const panel = new stat.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(PROMETHEUS)
    .unit(spec.unit)
    .targets(targets(spec.queries))
    .span(spec.width ?? 6)
    .height(spec.height ?? 4)
    .graphMode(BigValueGraphMode.Area)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(thresholds(spec.steps ?? [{ value: null, color: 'green' }]));
  if (spec.mappings) panel.mappings(spec.mappings);
  return panel;
}

/** Horizontal bars, one per series of an instant query: "top N" rankings. */
export function barGaugePanel(spec: PanelSpec & { steps?: { value: number | null; color: string }[] }) {
  return new bargauge.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(PROMETHEUS)
    .unit(spec.unit)
    .targets(targets(spec.queries))
    .span(spec.width ?? 12)
    .height(spec.height ?? 8)
    .orientation(VizOrientation.Horizontal)
    .displayMode(BarGaugeDisplayMode.Gradient)
    .showUnfilled(true)
    .min(0)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(thresholds(spec.steps ?? [{ value: null, color: 'green' }]));
}

/** Named states over time (one row per series), for gauges that encode a status. */
export function stateTimelinePanel(
  spec: PanelSpec & { states: { value: number; text: string; color: string }[] },
) {
  const mapping: ValueMapping = {
    type: MappingType.ValueToText,
    options: Object.fromEntries(
      spec.states.map((s, index) => [String(s.value), { text: s.text, color: s.color, index }]),
    ),
  };
  return new statetimeline.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(PROMETHEUS)
    .unit(spec.unit)
    .targets(targets(spec.queries))
    .span(spec.width ?? 12)
    .height(spec.height ?? 8)
    .mappings([mapping])
    .thresholds(thresholds([{ value: null, color: 'green' }]));
}
