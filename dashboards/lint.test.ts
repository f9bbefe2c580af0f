import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { EXEMPLAR_TRACE_ID } from '../instrumentation/core/semconv.js';
import { repoRoot } from '../test/helpers/tools.js';
import { GENERATED_DIR } from './build.js';
import { contractMetricNames, EXEMPLAR_HISTOGRAMS, recordedMetricNames } from './src/contract.js';
import { DASHBOARDS, renderDashboard } from './src/index.js';
import {
  allPanels,
  analyzePromQL,
  type DashboardJson,
  namesInPattern,
  panelQueries,
  renderQuery,
  variableQuery,
  variableSelector,
} from './src/queries.js';
import { DATASOURCE_VARIABLE, JAEGER_UID, PROMETHEUS_UID } from './src/variables.js';

const root = repoRoot();
const TEMPLATED_DATASOURCE = `\${${DATASOURCE_VARIABLE}}`;
/** `$__rate_interval` rendered as a duration nobody writes by hand, so a fixed window stands out. */
const RATE_SENTINEL = '4242s';
const knownMetrics = new Set([...contractMetricNames(), ...recordedMetricNames()]);

const committed = DASHBOARDS.map(({ file }) => ({
  file,
  json: JSON.parse(readFileSync(join(root, GENERATED_DIR, file), 'utf8')) as DashboardJson & {
    links?: { url?: string; type?: string }[];
  },
}));

/** Problems of one PromQL query, as readable strings (empty when it passes). */
function queryProblems(where: string, expr: string): string[] {
  const analysis = analyzePromQL(renderQuery(expr, { rateInterval: RATE_SENTINEL }));
  const problems: string[] = [];
  if (analysis.errors.length > 0)
    problems.push(`${where}: does not parse at ${JSON.stringify(analysis.errors)}`);
  for (const range of analysis.ranges) {
    if (range !== RATE_SENTINEL) problems.push(`${where}: window [${range}] instead of [$__rate_interval]`);
  }
  for (const metric of analysis.metrics) {
    if (!knownMetrics.has(metric))
      problems.push(`${where}: ${metric} is neither a contract metric nor recorded`);
  }
  for (const pattern of analysis.metricPatterns) {
    const names = namesInPattern(pattern);
    if (!names) problems.push(`${where}: __name__ pattern ${pattern} names no definite metrics`);
    for (const name of names ?? []) {
      if (!knownMetrics.has(name))
        problems.push(`${where}: ${name} is neither a contract metric nor recorded`);
    }
  }
  return problems;
}

describe('generated dashboards', () => {
  it('equal what the TypeScript sources build (run `npm run dashboards` after changing them)', () => {
    for (const { file, build } of DASHBOARDS) {
      const text = readFileSync(join(root, GENERATED_DIR, file), 'utf8');
      assert.equal(text, renderDashboard(build()), `${GENERATED_DIR}/${file} is stale`);
    }
  });

  it('cover overview, consumer lag, dead letters and flows with distinct uids', () => {
    const uids = committed.map((d) => d.json.uid);
    assert.deepEqual(uids, [
      'hoptrace-overview',
      'hoptrace-consumer-lag',
      'hoptrace-dead-letters',
      'hoptrace-flows',
    ]);
  });
});

for (const { file, json } of committed) {
  describe(`dashboard ${file}`, () => {
    const panels = allPanels(json);
    const visible = panels.filter((p) => p.type !== 'row');
    const variables = json.templating?.list ?? [];

    it('has a templated Prometheus data source that every panel, query and variable uses', () => {
      const datasource = variables.find((v) => v.name === DATASOURCE_VARIABLE);
      assert.equal(datasource?.type, 'datasource');
      assert.equal(datasource?.query, 'prometheus');
      for (const panel of visible) {
        assert.equal(panel.datasource?.uid, TEMPLATED_DATASOURCE, `panel "${panel.title}"`);
        for (const target of panel.targets ?? []) {
          assert.equal(
            target.datasource?.uid,
            TEMPLATED_DATASOURCE,
            `panel "${panel.title}" ${target.refId}`,
          );
        }
      }
      for (const variable of variables.filter((v) => v.type === 'query')) {
        assert.equal(variable.datasource?.uid, TEMPLATED_DATASOURCE, `variable ${variable.name}`);
      }
    });

    it('has the system, destination and group variables, with valid PromQL selectors', () => {
      assert.deepEqual(
        variables.map((v) => v.name),
        [DATASOURCE_VARIABLE, 'system', 'destination', 'group'],
      );
      const problems = variables
        .filter((v) => v.type === 'query')
        .flatMap((v) => {
          const selector = variableSelector(variableQuery(v) ?? '');
          return selector === undefined ? [] : queryProblems(`variable ${v.name}`, selector);
        });
      assert.deepEqual(problems, []);
    });

    it('gives every panel a unique id and a unit, and every panel a query', () => {
      const ids = panels.map((p) => p.id);
      assert.ok(
        ids.every((id) => Number.isInteger(id) && (id as number) > 0),
        `ids ${ids}`,
      );
      assert.equal(new Set(ids).size, ids.length, `duplicate panel ids: ${ids}`);
      for (const panel of visible) {
        assert.ok(panel.fieldConfig?.defaults?.unit, `panel "${panel.title}" has no unit`);
        assert.ok((panel.targets ?? []).length > 0, `panel "${panel.title}" has no query`);
        const refIds = (panel.targets ?? []).map((t) => t.refId);
        assert.equal(new Set(refIds).size, refIds.length, `panel "${panel.title}" repeats a refId`);
      }
      const titles = visible.map((p) => p.title);
      assert.equal(new Set(titles).size, titles.length, 'panel titles are unique');
    });

    it('has queries that parse, use $__rate_interval windows and name only known metrics', () => {
      const queries = panelQueries(json);
      assert.ok(queries.length > 0);
      const problems = queries.flatMap((q) => queryProblems(`panel "${q.panelTitle}" ${q.refId}`, q.expr));
      assert.deepEqual(problems, []);
    });

    it('asks for exemplars wherever it reads a histogram that carries trace IDs', () => {
      for (const q of panelQueries(json)) {
        const { metrics } = analyzePromQL(renderQuery(q.expr));
        const traced = metrics.some((m) => EXEMPLAR_HISTOGRAMS.some((h) => m === `${h}_bucket`));
        if (traced)
          assert.ok(q.exemplar, `panel "${q.panelTitle}" ${q.refId} reads ${metrics} without exemplars`);
      }
    });

    it('links to Jaeger search', () => {
      const jaeger = (json.links ?? []).filter((l) => l.type === 'link' && l.url?.includes(JAEGER_UID));
      assert.equal(jaeger.length, 1);
      const panes = JSON.parse(
        decodeURIComponent(new URL(jaeger[0].url ?? '', 'http://grafana').searchParams.get('panes') ?? '{}'),
      );
      assert.equal(Object.values(panes as Record<string, { datasource: string }>)[0]?.datasource, JAEGER_UID);
    });
  });
}

describe('lint helpers catch what they are for', () => {
  it('flags a syntax error, a fixed window and an unknown metric', () => {
    assert.match(
      queryProblems('q', 'sum(rate(messaging_client_sent_messages_total[5m])')[0],
      /does not parse/,
    );
    assert.deepEqual(queryProblems('q', 'rate(messaging_client_sent_messages_total[5m])'), [
      'q: window [5m] instead of [$__rate_interval]',
    ]);
    assert.deepEqual(queryProblems('q', 'rate(rabbitmq_queue_messages[$__rate_interval])'), [
      'q: rabbitmq_queue_messages is neither a contract metric nor recorded',
    ]);
    assert.deepEqual(
      queryProblems(
        'q',
        'histogram_quantile(0.9, rate(hoptrace_message_age_seconds_bucket[$__rate_interval]))',
      ),
      [],
    );
  });
});

describe('Grafana provisioning', () => {
  const datasources = parse(
    readFileSync(join(root, 'dashboards/provisioning/datasources/hoptrace.yml'), 'utf8'),
  );
  const providers = parse(
    readFileSync(join(root, 'dashboards/provisioning/dashboards/hoptrace.yml'), 'utf8'),
  );

  it('sends Prometheus exemplars with a trace_id to the Jaeger data source', () => {
    const byType = (type: string) => datasources.datasources.filter((d: { type: string }) => d.type === type);
    const [prometheus] = byType('prometheus');
    const [jaeger] = byType('jaeger');
    assert.equal(prometheus.uid, PROMETHEUS_UID);
    assert.equal(jaeger.uid, JAEGER_UID);
    assert.deepEqual(
      prometheus.jsonData.exemplarTraceIdDestinations.map((d: { name: string; datasourceUid: string }) => [
        d.name,
        d.datasourceUid,
      ]),
      [[EXEMPLAR_TRACE_ID, JAEGER_UID]],
    );
  });

  it('loads the generated dashboards from where the example stack mounts them', () => {
    assert.equal(providers.providers.length, 1);
    assert.equal(providers.providers[0].type, 'file');
    assert.equal(providers.providers[0].options.path, '/var/lib/grafana/dashboards/hoptrace');
  });
});
