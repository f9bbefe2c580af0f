/**
 * Reading the queries out of dashboard JSON and taking PromQL apart: which metrics a query names,
 * which range windows it uses, whether it parses. The lint test uses it on the generated files; the
 * end-to-end test uses it to run every panel query against a real Prometheus.
 */
import { parser } from '@prometheus-io/lezer-promql';

/** The parts of Grafana's dashboard JSON this module reads. */
export interface DashboardJson {
  uid?: string;
  title?: string;
  panels?: PanelJson[];
  templating?: { list?: VariableJson[] };
}

export interface PanelJson {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: TargetJson[];
  fieldConfig?: { defaults?: { unit?: string } };
  panels?: PanelJson[];
}

export interface TargetJson {
  refId?: string;
  expr?: string;
  exemplar?: boolean;
  instant?: boolean;
  datasource?: { type?: string; uid?: string };
}

export interface VariableJson {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: { type?: string; uid?: string };
}

export interface PanelQuery {
  dashboard: string;
  panelId: number | undefined;
  panelTitle: string;
  refId: string;
  expr: string;
  exemplar: boolean;
  instant: boolean;
}

/** Every panel of a dashboard, the panels of collapsed rows included. */
export function allPanels(dashboard: DashboardJson): PanelJson[] {
  const out: PanelJson[] = [];
  const visit = (panels: PanelJson[] | undefined) => {
    for (const panel of panels ?? []) {
      out.push(panel);
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  return out;
}

export function panelQueries(dashboard: DashboardJson): PanelQuery[] {
  return allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? [])
      .filter((t) => typeof t.expr === 'string')
      .map((t) => ({
        dashboard: dashboard.uid ?? dashboard.title ?? '?',
        panelId: panel.id,
        panelTitle: panel.title ?? '',
        refId: t.refId ?? '',
        expr: t.expr as string,
        exemplar: t.exemplar === true,
        instant: t.instant === true,
      })),
  );
}

/**
 * The PromQL selector inside a `label_values(selector, label)` variable query; undefined for
 * `label_values(label)`, which names no series.
 */
export function variableSelector(query: string): string | undefined {
  const match = /^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/s.exec(query);
  return match ? match[1] : undefined;
}

export function variableQuery(variable: VariableJson): string | undefined {
  if (typeof variable.query === 'string') return variable.query;
  return variable.query?.query;
}

export interface RenderOptions {
  /** What `$__rate_interval` becomes; Grafana uses max(4 x scrape interval, step + scrape interval). */
  rateInterval?: string;
  /** `$__interval` */
  interval?: string;
  /** `$__range` */
  range?: string;
  /** Values of dashboard variables; unlisted ones become `.*` (the "All" value of hoptrace's lists). */
  variables?: Record<string, string>;
}

/**
 * A Grafana query as Grafana would send it to Prometheus: `$var`, `${var}`, `${var:fmt}` and
 * `[[var]]` replaced.
 */
export function renderQuery(expr: string, options: RenderOptions = {}): string {
  const builtins: Record<string, string> = {
    __rate_interval: options.rateInterval ?? '1m',
    __interval: options.interval ?? '15s',
    __range: options.range ?? '1h',
  };
  const value = (name: string) => builtins[name] ?? options.variables?.[name] ?? '.*';
  return expr
    .replace(/\$\{(\w+)(?::[^}]*)?\}/g, (_, name: string) => value(name))
    .replace(/\[\[(\w+)\]\]/g, (_, name: string) => value(name))
    .replace(/\$(\w+)/g, (_, name: string) => value(name));
}

export interface PromQLAnalysis {
  /** Positions where the parser found a syntax error; empty for a valid query. */
  errors: { from: number; to: number; text: string }[];
  /** Metric names the query selects (names of vector selectors and exact `__name__` matches). */
  metrics: string[];
  /** `__name__` regex matchers, which name no single metric. */
  metricPatterns: string[];
  /** The range of every matrix selector and subquery, as written. */
  ranges: string[];
}

/** The value of a PromQL string literal: "..." and '...' use Go escapes (JSON-compatible here), `...` none. */
function stringLiteral(literal: string): string {
  const body = literal.slice(1, -1);
  if (literal.startsWith('`')) return body;
  try {
    return JSON.parse(`"${literal.startsWith("'") ? body.replaceAll('"', '\\"') : body}"`) as string;
  } catch {
    return body;
  }
}

const RANGE_FUNCTION_NODES = new Set(['MatrixSelector', 'SubqueryExpr']);

/** Parses PromQL with the Prometheus project's own Lezer grammar (the one its web UI uses). */
export function analyzePromQL(expr: string): PromQLAnalysis {
  const tree = parser.parse(expr);
  const out: PromQLAnalysis = { errors: [], metrics: [], metricPatterns: [], ranges: [] };
  const text = (from: number, to: number) => expr.slice(from, to);
  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        out.errors.push({ from: node.from, to: node.to, text: text(node.from, node.to) });
        return;
      }
      if (node.name === 'VectorSelector') {
        const name = node.node.getChild('Identifier');
        if (name) out.metrics.push(text(name.from, name.to));
      } else if (node.name === 'UnquotedLabelMatcher') {
        const label = node.node.getChild('LabelName');
        const op = node.node.getChild('MatchOp');
        const value = node.node.getChild('StringLiteral');
        if (label && op && value && text(label.from, label.to) === '__name__') {
          const literal = stringLiteral(text(value.from, value.to));
          const operator = text(op.from, op.to);
          if (operator === '=') out.metrics.push(literal);
          else if (operator === '=~') out.metricPatterns.push(literal);
        }
      } else if (RANGE_FUNCTION_NODES.has(node.name)) {
        const durations = node.node.getChildren('DurationExpr');
        // A subquery's second duration is its step, not a window.
        if (durations[0]) out.ranges.push(text(durations[0].from, durations[0].to));
      }
    },
  });
  out.metrics = [...new Set(out.metrics)].sort();
  return out;
}

/**
 * The metric names a `__name__` regex lists when it is a plain alternation (`a|b|c`); undefined
 * when it is a real pattern.
 */
export function namesInPattern(pattern: string): string[] | undefined {
  return /^[a-zA-Z_:][a-zA-Z0-9_:]*(\|[a-zA-Z_:][a-zA-Z0-9_:]*)*$/.test(pattern)
    ? pattern.split('|')
    : undefined;
}
