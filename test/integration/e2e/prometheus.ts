/**
 * Reading what the end-to-end test checks from the stack's Prometheus and Alertmanager: alert
 * states, exemplars, and a readable dump of both for failure messages.
 */
import { stackEndpoint } from '../../helpers/env.js';
import { getJson, queryPrometheus } from '../../helpers/stack.js';

export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  activeAt: string;
  value: string;
}

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
}

export interface ExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
}

const prometheusUrl = () => stackEndpoint('HOPTRACE_PROMETHEUS_URL');
const alertmanagerUrl = () => stackEndpoint('HOPTRACE_ALERTMANAGER_URL');

/** Every alert Prometheus evaluates right now (pending and firing). */
export async function prometheusAlerts(): Promise<PrometheusAlert[]> {
  const body = await getJson<{ data: { alerts: PrometheusAlert[] } }>(`${prometheusUrl()}/api/v1/alerts`);
  return body.data.alerts;
}

/** Alertmanager's active alerts whose labels equal `labels` (one `filter` matcher per label). */
export async function alertmanagerAlerts(labels: Record<string, string>): Promise<AlertmanagerAlert[]> {
  const filters = Object.entries(labels)
    .map(([name, value]) => `filter=${encodeURIComponent(`${name}=${JSON.stringify(value)}`)}`)
    .join('&');
  return getJson<AlertmanagerAlert[]>(`${alertmanagerUrl()}/api/v2/alerts?active=true&${filters}`);
}

export async function queryExemplars(query: string, startSeconds: number): Promise<ExemplarSeries[]> {
  const end = Date.now() / 1000;
  const url = `${prometheusUrl()}/api/v1/query_exemplars?query=${encodeURIComponent(query)}&start=${startSeconds}&end=${end}`;
  const body = await getJson<{ status: string; data: ExemplarSeries[] | null }>(url);
  return body.data ?? [];
}

/** Exactly these labels (an alert's full label set, alertname and severity included). */
export function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

export function formatLabels(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ')}}`;
}

/** The current value of each query, one line each, for failure messages. */
export async function describeQueries(queries: string[]): Promise<string> {
  const lines = await Promise.all(
    queries.map(async (q) => {
      try {
        const samples = await queryPrometheus(q);
        const values = samples.map((s) => `${formatLabels(s.metric)} ${s.value[1]}`);
        return `  ${q}\n    ${values.length > 0 ? values.join('\n    ') : '(no data)'}`;
      } catch (err) {
        return `  ${q}\n    (query failed: ${(err as Error).message})`;
      }
    }),
  );
  return lines.join('\n');
}
