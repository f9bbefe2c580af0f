/**
 * Serves a prom-client registry in the format the scraper asks for (one rule: `negotiateMetricsFormat`).
 * Exemplars exist only in OpenMetrics, and prom-client fixes the format per registry, so an OpenMetrics registry is rendered
 * once and converted to Prometheus text when the scraper does not accept OpenMetrics.
 */
import { Registry, type RegistryContentType } from 'prom-client';

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;

export type MetricsFormat = 'openmetrics' | 'prometheus';

const OPENMETRICS_MEDIA_TYPE = 'application/openmetrics-text';
/** Media ranges a Prometheus text answer satisfies. */
const TEXT_MEDIA_TYPES = new Set(['text/plain', 'text/*', '*/*']);

/**
 * The one format negotiation of hoptrace (applications' `renderMetrics` and the collector's `/metrics`):
 * OpenMetrics when the `Accept` header ranks it (by q-value, default 1) at least as high as every range
 * Prometheus text satisfies (`text/plain`, `text/` any, any type), and above 0; Prometheus text otherwise,
 * including a missing or empty header. Media types and parameter names are case-insensitive; other
 * parameters (`version`, `charset`) are ignored; a q-value that is not a number counts as 0.
 */
export function negotiateMetricsFormat(accept: string | undefined): MetricsFormat {
  if (typeof accept !== 'string' || accept.length === 0) return 'prometheus';
  let openMetricsQ = -1;
  let textQ = -1;
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';');
    const mediaType = type.trim().toLowerCase();
    let q = 1;
    for (const param of params) {
      const eq = param.indexOf('=');
      if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
      q = Number(param.slice(eq + 1).trim()) || 0;
    }
    if (mediaType === OPENMETRICS_MEDIA_TYPE) openMetricsQ = Math.max(openMetricsQ, q);
    else if (TEXT_MEDIA_TYPES.has(mediaType)) textQ = Math.max(textQ, q);
  }
  return openMetricsQ > 0 && openMetricsQ >= textQ ? 'openmetrics' : 'prometheus';
}

/** True when {@link negotiateMetricsFormat} picks OpenMetrics for this `Accept` header. */
export function acceptsOpenMetrics(accept: string | undefined): boolean {
  return negotiateMetricsFormat(accept) === 'openmetrics';
}

/**
 * `registry` rendered in the format `accept` negotiates. An OpenMetrics-typed registry (hoptrace's, the
 * collector's) is rendered once and converted when Prometheus text is wanted; a Prometheus-typed one can
 * only answer Prometheus text.
 */
export async function renderMetrics(
  registry: Registry<RegistryContentType>,
  accept?: string,
): Promise<{ contentType: string; body: string }> {
  const text = await registry.metrics();
  if (registry.contentType !== OPENMETRICS_CONTENT_TYPE)
    return { contentType: PROMETHEUS_CONTENT_TYPE, body: text };
  if (acceptsOpenMetrics(accept)) return { contentType: OPENMETRICS_CONTENT_TYPE, body: text };
  return { contentType: PROMETHEUS_CONTENT_TYPE, body: openMetricsToPrometheus(text) };
}

/**
 * OpenMetrics text as prom-client writes it -> Prometheus text format 0.0.4: counter families get
 * their `_total` name back in HELP/TYPE, exemplars and `# EOF` / `# UNIT` lines are dropped.
 */
export function openMetricsToPrometheus(text: string): string {
  const out: string[] = [];
  const counters = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '# EOF' || line.startsWith('# UNIT ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (type === 'counter' && name && !name.endsWith('_total')) {
        counters.add(name);
        out.push(`# TYPE ${name}_total counter`);
        continue;
      }
    } else if (line.length > 0 && !line.startsWith('#')) {
      out.push(stripExemplar(line));
      continue;
    }
    out.push(line);
  }
  // HELP precedes TYPE, so counter HELP lines are renamed once every TYPE line has been seen.
  for (let i = 0; i < out.length; i++) {
    const line = out[i] as string;
    if (!line.startsWith('# HELP ')) continue;
    const end = line.indexOf(' ', 7);
    const name = line.slice(7, end === -1 ? undefined : end);
    if (counters.has(name)) out[i] = `# HELP ${name}_total${end === -1 ? '' : line.slice(end)}`;
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

/** Removes ` # {...} value [timestamp]` after a sample, skipping `#` inside quoted label values. */
function stripExemplar(line: string): string {
  let i = 0;
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  if (brace !== -1 && (space === -1 || brace < space)) {
    // Walk the label set, honouring quotes and backslash escapes.
    let quoted = false;
    for (i = brace + 1; i < line.length; i++) {
      const ch = line[i];
      if (quoted) {
        if (ch === '\\') i++;
        else if (ch === '"') quoted = false;
      } else if (ch === '"') quoted = true;
      else if (ch === '}') break;
    }
  }
  const hash = line.indexOf(' # ', i);
  return hash === -1 ? line : line.slice(0, hash);
}
