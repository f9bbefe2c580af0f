/** Small PromQL writing helpers shared by the rule sources, so selectors and relabelling look alike. */

/** `metric{a, b}` from matchers, skipping empty ones (an empty config selector matches everything). */
export function selector(metric: string, ...matchers: string[]): string {
  const used = matchers.map((m) => m.trim()).filter((m) => m.length > 0);
  return used.length === 0 ? metric : `${metric}{${used.join(', ')}}`;
}

/** `by (a, b)` label list. */
export function by(labels: readonly string[]): string {
  return `by (${labels.join(', ')})`;
}

/** `on (a, b)` label list. */
export function on(labels: readonly string[]): string {
  return `on (${labels.join(', ')})`;
}

/**
 * Copies each `from` label into its `to` name: the adapters rename exporters' labels (`topic`,
 * `consumergroup`, ...) to hoptrace's. The caller aggregates afterwards to drop the old names.
 */
export function renameLabels(expr: string, renames: Record<string, string>): string {
  let out = expr;
  for (const [from, to] of Object.entries(renames)) {
    out = `label_replace(${out}, "${to}", "$1", "${from}", "(.*)")`;
  }
  return out;
}

/** A quoted PromQL string, for regex matchers built from config patterns. */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/**
 * Matches a histogram's `le` label for one bucket boundary in both exposition formats: Prometheus
 * text writes `le="10"`, OpenMetrics `le="10.0"`.
 */
export function leMatcher(boundary: number): string {
  const text = String(boundary).replaceAll('.', '\\\\.');
  return Number.isInteger(boundary) ? `le=~"${text}(\\\\.0)?"` : `le=~"${text}"`;
}

/** A number for an expression, without float noise such as 0.14400000000000002. */
export function num(value: number): string {
  return String(Number(value.toPrecision(12)));
}
