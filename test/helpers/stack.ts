/**
 * Helpers for integration tests that extend the stack's servers: registering a scrape target with
 * Prometheus, adding rule files, reading JSON from HTTP APIs that take basic auth in the URL, and
 * polling until a condition holds.
 *
 * The stack's Prometheus reads scrape targets from `<stack>/prometheus/targets/*.json` (file_sd) and
 * rules from `<stack>/prometheus/rules/*.yml`. Tests find those folders from the running Prometheus's
 * own configuration (so a stack started from another worktree works too), or from
 * HOPTRACE_PROMETHEUS_TARGETS_DIR / HOPTRACE_PROMETHEUS_RULES_DIR for a Prometheus of your own.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { stackEndpoint } from './env.js';

/** `prefix-<12 hex chars>`: unique queue, topic, group and label values per test. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** fetch() that accepts `http://user:pass@host` URLs (fetch refuses credentials in the URL). */
export function fetchWithAuth(url: string, init: RequestInit = {}): Promise<Response> {
  const parsed = new URL(url);
  const headers = new Headers(init.headers);
  if (parsed.username) {
    const user = decodeURIComponent(parsed.username);
    const password = decodeURIComponent(parsed.password);
    headers.set('authorization', `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`);
    parsed.username = '';
    parsed.password = '';
  }
  return fetch(parsed, { signal: AbortSignal.timeout(5000), ...init, headers });
}

export async function getJson<T = unknown>(url: string): Promise<T> {
  const response = await fetchWithAuth(url);
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Named in the error when the condition never holds. */
  what: string;
}

/**
 * Calls `check` until it returns a value other than undefined/false, and returns that value. Errors
 * thrown by `check` count as "not yet"; the last one is reported on timeout.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false>,
  options: WaitForOptions,
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let last = 'condition false';
  while (true) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${options.what} (${last})`);
    await sleep(options.intervalMs ?? 250);
  }
}

interface PrometheusConfig {
  rule_files?: string[];
  scrape_configs?: { job_name: string; file_sd_configs?: { files?: string[] }[] }[];
}

async function loadedPrometheusConfig(): Promise<PrometheusConfig> {
  const body = await getJson<{ data: { yaml: string } }>(
    `${stackEndpoint('HOPTRACE_PROMETHEUS_URL')}/api/v1/status/config`,
  );
  return parse(body.data.yaml) as PrometheusConfig;
}

/** Folder whose `*.json` files the Prometheus scrapes as targets (job `hoptrace-test`). */
export async function prometheusTargetsDir(): Promise<string> {
  if (process.env.HOPTRACE_PROMETHEUS_TARGETS_DIR) return process.env.HOPTRACE_PROMETHEUS_TARGETS_DIR;
  const config = await loadedPrometheusConfig();
  const job = config.scrape_configs?.find((c) => c.job_name === 'hoptrace-test');
  const pattern = job?.file_sd_configs?.[0]?.files?.[0];
  if (!pattern)
    throw new Error('Prometheus has no `hoptrace-test` file_sd job; set HOPTRACE_PROMETHEUS_TARGETS_DIR');
  return dirname(pattern);
}

/** Folder whose `*.yml` rule files the Prometheus loads on reload. */
export async function prometheusRulesDir(): Promise<string> {
  if (process.env.HOPTRACE_PROMETHEUS_RULES_DIR) return process.env.HOPTRACE_PROMETHEUS_RULES_DIR;
  const pattern = (await loadedPrometheusConfig()).rule_files?.[0];
  if (!pattern) throw new Error('Prometheus loads no rule_files; set HOPTRACE_PROMETHEUS_RULES_DIR');
  return dirname(pattern);
}

/**
 * Makes Prometheus scrape `address` (host:port) every second, with `labels` on its series, until the
 * returned function is called. Use a unique label value to find your series.
 */
export async function registerScrapeTarget(
  address: string,
  labels: Record<string, string>,
  metricsPath = '/metrics',
): Promise<() => void> {
  const file = join(await prometheusTargetsDir(), `${uniqueName('target')}.json`);
  const group = { targets: [address], labels: { ...labels, __metrics_path__: metricsPath } };
  // Written aside and renamed: file_sd must never read a half-written file (it matches *.json only).
  writeFileSync(`${file}.partial`, JSON.stringify([group]));
  renameSync(`${file}.partial`, file);
  return () => rmSync(file, { force: true });
}

/** POST /-/reload (the stack runs Prometheus with --web.enable-lifecycle). */
export async function reloadPrometheus(): Promise<void> {
  const response = await fetchWithAuth(`${stackEndpoint('HOPTRACE_PROMETHEUS_URL')}/-/reload`, {
    method: 'POST',
  });
  if (!response.ok)
    throw new Error(`Prometheus reload answered ${response.status}: ${await response.text()}`);
}

/**
 * Adds a rule file (validate it with promtool first: one broken file makes every reload fail) and
 * reloads Prometheus. The returned function removes it and reloads again.
 */
export async function addPrometheusRules(yaml: string): Promise<() => Promise<void>> {
  const file = join(await prometheusRulesDir(), `${uniqueName('rules')}.yml`);
  writeFileSync(file, yaml);
  await reloadPrometheus();
  return async () => {
    rmSync(file, { force: true });
    await reloadPrometheus();
  };
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export async function queryPrometheus(expr: string): Promise<PromSample[]> {
  const url = `${stackEndpoint('HOPTRACE_PROMETHEUS_URL')}/api/v1/query?query=${encodeURIComponent(expr)}`;
  const body = await getJson<{ status: string; data: { result: PromSample[] } }>(url);
  return body.data.result;
}

/** False when the test runner found no Jaeger (not built, or HOPTRACE_JAEGER=off): its tests skip. */
export function jaegerEnabled(): boolean {
  return !['off', '0', 'false'].includes((process.env.HOPTRACE_JAEGER ?? '').toLowerCase());
}
