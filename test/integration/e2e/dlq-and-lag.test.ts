/**
 * End to end on the real stack: the stack's Prometheus scrapes an instrumented service and a real
 * collector while a consumer rejects into a RabbitMQ dead-letter queue and a Kafka consumer is paused
 * with lag (./scenario.ts). It checks, from that one scenario:
 *
 * 1. the shipped alert rules (built from alerts/src with shorter `for` durations and windows, see
 *    `e2eRules`) fire DeadLettersIncreasing, DeadLetterQueueGrowing, ConsumerLagHigh,
 *    ConsumerLagGrowing and ConsumerStalled with exact label sets, and Alertmanager lists them;
 * 2. every query of every generated dashboard, rendered with the variables set to the scenario's
 *    systems, destinations and groups, returns data;
 * 3. exemplars of the latency and age histograms carry trace and span IDs of spans the service made.
 *
 * Run alone: `npm run build && node dist/scripts/test.js e2e` (with `npm run stack -- up`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import amqplib from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { defaultConfig, type HoptraceRulesConfig } from '../../../alerts/src/config.js';
import { renderRuleFile } from '../../../alerts/src/render.js';
import { buildAllRules } from '../../../alerts/src/rules.js';
import {
  type DashboardJson,
  panelQueries,
  renderQuery,
  variableQuery,
  variableSelector,
} from '../../../dashboards/src/queries.js';
import {
  METRIC_FLOW_AGE,
  METRIC_HOP_LATENCY,
  METRIC_MESSAGE_AGE,
  METRIC_PROCESS_DURATION,
} from '../../../instrumentation/core/semconv.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { addPrometheusRules, getJson, queryPrometheus, waitFor } from '../../helpers/stack.js';
import { repoRoot, requireTool, runTool } from '../../helpers/tools.js';
import {
  alertmanagerAlerts,
  describeQueries,
  formatLabels,
  type PrometheusAlert,
  prometheusAlerts,
  queryExemplars,
  sameLabels,
} from './prometheus.js';
import { RUN_LABEL, type Scenario, startScenario } from './scenario.js';

/** Every `for` of the shipped rules times this (10m -> 12s, 5m -> 6s, 15m -> 18s). */
const FOR_SCALE = 0.02;
/**
 * Every range window times this (5m -> 15s, 10m -> 30s): dead letters come in bursts (a Kafka retry
 * re-fetches), and a rate over a few seconds would drop to zero between them and restart `for`.
 */
const WINDOW_SCALE = 0.05;
/** What `$__rate_interval` becomes: Grafana's floor is 4 scrape intervals (4 s here); 15 s smooths the sparse series. */
const RATE_INTERVAL = '15s';

/**
 * The shipped rules as the test loads them: built from the same sources (never a copy), evaluated
 * every second, `for` scaled by FOR_SCALE and windows by WINDOW_SCALE, and through the config object:
 * - selectors that pick only this run's two targets (other tests share the Prometheus), and match no
 *   exporter at all (the adapters stay silent);
 * - thresholds sized for a one-minute scenario instead of production traffic: oldest unprocessed
 *   message 5 s (shipped 300 s), growing lag from 10 messages (100), stalled after 8 s without a
 *   processed delivery (600 s). Dead letters keep the shipped threshold (any).
 */
function e2eRules(scenario: Scenario): string {
  const nothing = `${RUN_LABEL}="${scenario.run}", hoptrace_role="exporter"`;
  const config: HoptraceRulesConfig = {
    ...defaultConfig,
    selectors: {
      collector: scenario.selectors.collector,
      services: scenario.selectors.services,
      kafkaExporter: nothing,
      kminion: nothing,
      rabbitmq: nothing,
      cloudwatch: nothing,
    },
    thresholds: {
      ...defaultConfig.thresholds,
      consumerLagSeconds: 5,
      consumerLagGrowingMinMessages: 10,
      consumerStalledAfterSeconds: 8,
    },
  };
  return renderRuleFile(
    buildAllRules({ config, forScale: FOR_SCALE, windowScale: WINDOW_SCALE, evaluationInterval: '1s' }),
  );
}

/** The alerts the scenario must fire, each with its complete label set. */
function expectedAlerts(s: Scenario): Record<string, string>[] {
  const { names } = s;
  const shipping = {
    messaging_system: 'kafka',
    messaging_destination_name: names.shipments,
    messaging_consumer_group_name: names.shippingGroup,
  };
  return [
    // RabbitMQ: nobody reads the DLQ, so only the collector's dead-letter hops see the rejects.
    {
      alertname: 'DeadLettersIncreasing',
      severity: 'warning',
      messaging_system: 'rabbitmq',
      messaging_destination_name: names.queue,
      reason: 'rejected',
    },
    // Kafka: the wrappers count the messages fraud-check gave up on.
    {
      alertname: 'DeadLettersIncreasing',
      severity: 'warning',
      messaging_system: 'kafka',
      messaging_destination_name: names.payments,
      messaging_consumer_group_name: names.fraudGroup,
      reason: 'max_attempts',
    },
    {
      alertname: 'DeadLetterQueueGrowing',
      severity: 'warning',
      messaging_system: 'rabbitmq',
      messaging_destination_name: names.deadLetterQueue,
      dead_letter_source: names.queue,
    },
    { alertname: 'ConsumerLagHigh', severity: 'warning', ...shipping },
    { alertname: 'ConsumerLagGrowing', severity: 'warning', ...shipping },
    {
      alertname: 'ConsumerStalled',
      severity: 'critical',
      stall_signal: 'committed_offsets',
      messaging_system: 'kafka',
      messaging_consumer_group_name: names.shippingGroup,
    },
    { alertname: 'ConsumerStalled', severity: 'critical', stall_signal: 'processed_deliveries', ...shipping },
  ];
}

/** Dashboard panels that cannot have data in this scenario, by title, with the reason. */
const PANELS_WITHOUT_SCENARIO_DATA: Record<string, string> = {
  'BullMQ stalled jobs': 'BullMQ only: test/integration/e2e/bullmq.test.ts checks it',
  'BullMQ paused queues': 'BullMQ only: test/integration/e2e/bullmq.test.ts checks it',
};

function scenarioMentions(s: Scenario, alert: PrometheusAlert): boolean {
  return Object.values(alert.labels).some((v) => v.includes(s.run));
}

async function alertDiagnostics(s: Scenario): Promise<string> {
  const { names, selectors } = s;
  const alerts = (await prometheusAlerts().catch(() => [])).filter((a) => scenarioMentions(s, a));
  const states = alerts.map((a) => `  ${a.state} ${formatLabels(a.labels)} value=${a.value}`).join('\n');
  const queries = await describeQueries([
    `up{${RUN_LABEL}="${s.run}"}`,
    `hoptrace_collector_up{${selectors.collector}}`,
    `hoptrace:dlq_messages{dead_letter_source="${names.queue}"}`,
    `rate(hoptrace_dead_letter_hops_total{${selectors.collector}}[30s])`,
    `rate(hoptrace_dead_lettered_messages_total{${selectors.services}}[30s])`,
    `hoptrace:consumer_lag_messages{messaging_consumer_group_name="${names.shippingGroup}"}`,
    `hoptrace:consumer_lag_seconds{messaging_consumer_group_name="${names.shippingGroup}"}`,
    `hoptrace_consumer_lag_status{${selectors.collector}}`,
    `time() - hoptrace_consumer_last_processed_timestamp_seconds{${selectors.services}}`,
  ]);
  return `alerts of this run:\n${states || '  (none)'}\nlast query results:\n${queries}\nscenario counts: ${JSON.stringify(s.counts)}`;
}

describe('end to end: DLQ growth and a paused Kafka consumer on the real stack', { timeout: 240_000 }, () => {
  let scenario: Scenario | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  /** Set by the first test once the rules are loaded: the dashboards read the recording rules. */
  let rulesLoaded = false;

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await scenario?.stop();
  });

  it('fires the dead-letter and lag alerts in Prometheus, and Alertmanager lists them', async (t) => {
    const promtool = requireTool(t, 'promtool');
    if (!promtool) return;
    const prometheus = stackEndpoint('HOPTRACE_PROMETHEUS_URL');
    const alertmanager = stackEndpoint('HOPTRACE_ALERTMANAGER_URL');
    const servers: [string, () => Promise<unknown>][] = [
      ['Prometheus', () => getJson(`${prometheus}/api/v1/status/buildinfo`)],
      ['Alertmanager', () => getJson(`${alertmanager}/api/v2/status`)],
      [
        'RabbitMQ management',
        () => getJson(`${stackEndpoint('HOPTRACE_RABBITMQ_MANAGEMENT_URL')}/api/overview`),
      ],
      ['RabbitMQ', () => amqplib.connect(stackEndpoint('HOPTRACE_AMQP_URL')).then((c) => c.close())],
      [
        'Kafka',
        async () => {
          const admin = new Kafka({
            brokers: stackEndpoint('HOPTRACE_KAFKA_BROKERS').split(','),
            logLevel: logLevel.NOTHING,
            retry: { retries: 1 },
          }).admin();
          await admin.connect();
          await admin.disconnect();
        },
      ],
    ];
    for (const [name, probe] of servers) {
      if (!(await requireServer(t, name, probe))) return;
    }

    const s = await startScenario();
    scenario = s;

    // Both targets scraped before the rules arrive, so CollectorDown does not fire on a fresh start.
    await waitFor(
      async () => {
        const up = await queryPrometheus(`up{${RUN_LABEL}="${s.run}"} == 1`);
        return up.length === 2;
      },
      { what: 'the service and the collector scraped by Prometheus', timeoutMs: 20_000 },
    );

    const rules = e2eRules(s);
    const dir = mkdtempSync(join(tmpdir(), 'hoptrace-e2e-rules-'));
    writeFileSync(join(dir, 'rules.yml'), rules);
    const check = runTool(promtool, ['check', 'rules', 'rules.yml'], dir);
    assert.equal(check.status, 0, check.output);
    cleanups.push(await addPrometheusRules(rules));
    rulesLoaded = true;

    const expected = expectedAlerts(s);
    const firingNow = (alerts: PrometheusAlert[]) =>
      expected.map((labels) => alerts.find((a) => a.state === 'firing' && sameLabels(a.labels, labels)));
    let firing: PrometheusAlert[];
    try {
      firing = await waitFor(
        async () => {
          const found = firingNow(await prometheusAlerts());
          return found.every((a) => a !== undefined) ? (found as PrometheusAlert[]) : undefined;
        },
        { what: 'every expected alert firing in Prometheus', timeoutMs: 120_000, intervalMs: 1000 },
      );
    } catch (err) {
      const found = firingNow(await prometheusAlerts().catch(() => []));
      const missing = expected.filter((_, i) => !found[i]).map(formatLabels);
      throw new Error(
        `${(err as Error).message}\nnot firing:\n  ${missing.join('\n  ')}\n${await alertDiagnostics(s)}`,
      );
    }
    t.diagnostic(
      `all ${expected.length} alerts firing ${Math.round(Date.now() / 1000 - s.startedAt)} s after the load started`,
    );
    for (const alert of firing) {
      assert.ok(alert.annotations.summary, `${alert.labels.alertname} has a summary`);
      assert.match(alert.annotations.runbook_url, /docs\/runbooks\.md#[a-z]+$/);
      assert.ok(!alert.annotations.description.includes('{{'), 'annotations are expanded');
    }

    // Prometheus re-sends firing alerts every 2 s (--rules.alert.resend-delay=2s in the stack).
    for (const labels of expected) {
      const listed = await waitFor(
        async () => {
          const alerts = await alertmanagerAlerts(labels);
          return alerts.find((a) => sameLabels(a.labels, labels));
        },
        { what: `Alertmanager to list ${formatLabels(labels)}`, timeoutMs: 30_000, intervalMs: 500 },
      );
      assert.equal(listed.status.state, 'active');
      assert.ok(listed.annotations.runbook_url?.endsWith(`#${labels.alertname.toLowerCase()}`));
    }
  });

  it('returns data for every query of every dashboard panel', async (t) => {
    if (!scenario || !rulesLoaded) return t.skip('the scenario did not run');
    const s = scenario;
    const { names } = s;
    const variables = {
      system: 'rabbitmq|kafka',
      destination: [
        names.exchange,
        names.queue,
        names.deadLetterQueue,
        names.payments,
        names.paymentsDeadLetters,
        names.shipments,
      ]
        .map((n) => n.replaceAll('.', '\\\\.'))
        .join('|'),
      // RabbitMQ series have an empty group.
      group: `|${names.fraudGroup}|${names.shippingGroup}`.replaceAll('.', '\\\\.'),
    };
    const dir = join(repoRoot(), 'dashboards', 'generated');
    const dashboards = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as DashboardJson);
    assert.equal(dashboards.length, 4);

    const queries = dashboards.flatMap((d) => {
      const panels = panelQueries(d).map((q) => ({
        where: `${q.dashboard} / ${q.panelTitle} / ${q.refId}`,
        title: q.panelTitle,
        expr: renderQuery(q.expr, { rateInterval: RATE_INTERVAL, variables }),
      }));
      const lists = (d.templating?.list ?? []).flatMap((v) => {
        const selector = variableSelector(variableQuery(v) ?? '');
        return selector
          ? [
              {
                where: `${d.uid} / variable ${v.name}`,
                title: `$${v.name}`,
                expr: renderQuery(selector, { variables }),
              },
            ]
          : [];
      });
      return [...panels, ...lists];
    });
    const checked = queries.filter((q) => !(q.title in PANELS_WITHOUT_SCENARIO_DATA));
    assert.ok(checked.length >= 40, `${checked.length} queries`);

    /** Queries whose result is empty or only NaN, with what they returned. */
    const withoutData = async () => {
      const results = await Promise.all(
        checked.map(async (q) => {
          const samples = await queryPrometheus(q.expr);
          const finite = samples.filter((x) => Number.isFinite(Number(x.value[1])));
          return finite.length > 0
            ? undefined
            : `${q.where}\n    ${q.expr}\n    -> ${samples.length === 0 ? 'no series' : `${samples.length} series, all NaN`}`;
        }),
      );
      return results.filter((r) => r !== undefined);
    };
    let last: string[] = [];
    try {
      await waitFor(
        async () => {
          last = await withoutData();
          return last.length === 0;
        },
        { what: 'data for every dashboard query', timeoutMs: 30_000, intervalMs: 2000 },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; without data:\n  ${last.join('\n  ')}`);
    }
    t.diagnostic(`${checked.length} queries of ${dashboards.length} dashboards returned data`);
  });

  it('returns exemplars whose trace and span IDs are spans the service made', async (t) => {
    if (!scenario) return t.skip('the scenario did not run');
    const s = scenario;
    const consumerSpans = new Map<string, string>();
    for (const span of s.spans()) {
      if (span.kind !== SpanKind.CONSUMER) continue;
      const { traceId, spanId } = span.spanContext();
      consumerSpans.set(spanId, traceId);
    }
    assert.ok(consumerSpans.size > 100, `${consumerSpans.size} consumer spans`);

    const histograms = [
      { metric: METRIC_PROCESS_DURATION, selector: s.selectors.services },
      { metric: METRIC_MESSAGE_AGE, selector: s.selectors.services },
      { metric: METRIC_FLOW_AGE, selector: s.selectors.services },
      { metric: METRIC_HOP_LATENCY, selector: s.selectors.collector },
    ];
    for (const { metric, selector } of histograms) {
      const series = await queryExemplars(`${metric}_bucket{${selector}}`, s.startedAt - 60);
      const exemplars = series.flatMap((x) =>
        x.exemplars.map((e) => ({
          system: x.seriesLabels.messaging_system,
          traceId: e.labels.trace_id,
          spanId: e.labels.span_id,
        })),
      );
      assert.ok(exemplars.length > 0, `${metric}: no exemplars`);
      const systems = new Set(exemplars.map((e) => e.system));
      assert.deepEqual([...systems].sort(), ['kafka', 'rabbitmq'], `${metric}: exemplars of both brokers`);
      const unknown = exemplars.filter((e) => consumerSpans.get(e.spanId) !== e.traceId);
      t.diagnostic(`${metric}: ${exemplars.length} exemplars, all of the scenario's consumer spans`);
      assert.deepEqual(
        unknown,
        [],
        `${metric}: ${unknown.length} of ${exemplars.length} exemplars name no consumer span of the scenario`,
      );
    }
  });
});
