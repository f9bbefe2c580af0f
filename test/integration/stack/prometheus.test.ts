import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import {
  addPrometheusRules,
  getJson,
  queryPrometheus,
  registerScrapeTarget,
  uniqueName,
  waitFor,
} from '../../helpers/stack.js';

const prometheusUrl = stackEndpoint('HOPTRACE_PROMETHEUS_URL');
const alertmanagerUrl = stackEndpoint('HOPTRACE_ALERTMANAGER_URL');
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

function prometheusReady(t: Parameters<typeof requireServer>[0]) {
  return requireServer(t, 'Prometheus', () => getJson(`${prometheusUrl}/api/v1/status/buildinfo`));
}

test('Prometheus scrapes a registered target, answers a query for it and stores its exemplar', async (t) => {
  if (!(await prometheusReady(t))) return;
  const run = uniqueName('run');
  // A tiny OpenMetrics endpoint: a gauge and a counter whose sample carries a trace_id exemplar.
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    res.end(
      '# TYPE hoptrace_stack_smoke_value gauge\n' +
        'hoptrace_stack_smoke_value 42\n' +
        '# TYPE hoptrace_stack_smoke_requests counter\n' +
        `hoptrace_stack_smoke_requests_total 7 # {trace_id="${TRACE_ID}"} 1.0\n` +
        '# EOF\n',
    );
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const unregister = await registerScrapeTarget(`127.0.0.1:${port}`, { stack_smoke_run: run });
  t.after(unregister);

  const samples = await waitFor(
    async () => {
      const result = await queryPrometheus(`hoptrace_stack_smoke_value{stack_smoke_run="${run}"}`);
      return result.length > 0 ? result : undefined;
    },
    { what: 'the scraped gauge in a query result', timeoutMs: 30_000 },
  );
  assert.equal(samples.length, 1);
  assert.equal(samples[0].value[1], '42');
  assert.equal(samples[0].metric.job, 'hoptrace-test');
  assert.equal(samples[0].metric.instance, `127.0.0.1:${port}`);
  const up = await queryPrometheus(`up{stack_smoke_run="${run}"}`);
  assert.equal(up[0]?.value[1], '1');

  // Exemplar storage is on: the exemplar is queryable next to its series.
  const now = Date.now() / 1000;
  const query = encodeURIComponent(`hoptrace_stack_smoke_requests_total{stack_smoke_run="${run}"}`);
  const exemplars = await waitFor(
    async () => {
      const body = await getJson<{ data: { exemplars: { labels: Record<string, string> }[] }[] }>(
        `${prometheusUrl}/api/v1/query_exemplars?query=${query}&start=${now - 300}&end=${now + 300}`,
      );
      return body.data.length > 0 ? body.data : undefined;
    },
    { what: 'the exemplar in /api/v1/query_exemplars', timeoutMs: 15_000 },
  );
  assert.equal(exemplars[0].exemplars[0].labels.trace_id, TRACE_ID);
});

function promtool(...args: string[]) {
  return spawnSync('promtool', args, { encoding: 'utf8' });
}

const GOOD_RULES = (alert: string, run: string) => `groups:
  - name: ${alert}
    interval: 1s
    rules:
      - alert: ${alert}
        expr: vector(1)
        labels:
          severity: info
          stack_smoke_run: ${run}
        annotations:
          summary: smoke alert of the stack tests
`;

test('promtool accepts a valid rule file and rejects a broken one', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoptrace-promtool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.yml');
  const broken = join(dir, 'broken.yml');
  writeFileSync(good, GOOD_RULES('HoptraceStackSmoke', 'x'));
  writeFileSync(broken, GOOD_RULES('HoptraceStackSmoke', 'x').replace('vector(1)', 'rate(foo[5m]'));

  const ok = promtool('check', 'rules', good);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /SUCCESS: 1 rules found/);

  const bad = promtool('check', 'rules', broken);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /FAILED/);
  assert.match(bad.stderr, /parse error/);
});

test('a rule file added to the stack fires its alert into Alertmanager', async (t) => {
  if (!(await prometheusReady(t))) return;
  if (!(await requireServer(t, 'Alertmanager', () => getJson(`${alertmanagerUrl}/api/v2/status`)))) return;
  const run = uniqueName('run');
  const alert = `HoptraceStackSmoke${run.slice(-12)}`;
  const rules = GOOD_RULES(alert, run);
  const dir = mkdtempSync(join(tmpdir(), 'hoptrace-rules-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'rules.yml'), rules);
  // One broken file would make every later reload fail for all tests: check before adding.
  assert.equal(promtool('check', 'rules', join(dir, 'rules.yml')).status, 0);

  const remove = await addPrometheusRules(rules);
  t.after(remove);

  const firing = await waitFor(
    async () => {
      const body = await getJson<{ data: { alerts: { labels: Record<string, string>; state: string }[] } }>(
        `${prometheusUrl}/api/v1/alerts`,
      );
      return body.data.alerts.find((a) => a.labels.alertname === alert && a.state === 'firing');
    },
    { what: `${alert} firing in Prometheus`, timeoutMs: 20_000 },
  );
  assert.equal(firing.labels.stack_smoke_run, run);

  const filter = encodeURIComponent(`alertname="${alert}"`);
  const received = await waitFor(
    async () => {
      const alerts = await getJson<{ labels: Record<string, string> }[]>(
        `${alertmanagerUrl}/api/v2/alerts?filter=${filter}`,
      );
      return alerts.length > 0 ? alerts : undefined;
    },
    { what: `${alert} in Alertmanager`, timeoutMs: 20_000 },
  );
  assert.equal(received.length, 1);
  assert.equal(received[0].labels.stack_smoke_run, run);
  assert.equal(received[0].labels.severity, 'info');
});
