/**
 * End to end on the real stack with BullMQ: a traced worker fails every job into the failed set, the
 * collector's BullMQ monitor watches the queue, the stack's Prometheus scrapes both, and the shipped
 * rules (built from alerts/src, `for` and windows scaled down) fire DeadLetterQueueGrowing for the
 * failed set and DeadLettersIncreasing for the worker, with exact labels. The dashboards' BullMQ
 * panels (stalled jobs, paused queues) return data.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { Queue, Worker } from 'bullmq';
import { defaultConfig, type HoptraceRulesConfig } from '../../../alerts/src/config.js';
import { renderRuleFile } from '../../../alerts/src/render.js';
import { buildAllRules } from '../../../alerts/src/rules.js';
import { startCollector } from '../../../collector/start.js';
import { BullMQTelemetry } from '../../../instrumentation/bullmq/index.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { renderMetrics } from '../../../instrumentation/core/metrics-format.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import {
  addPrometheusRules,
  getJson,
  queryPrometheus,
  registerScrapeTarget,
  waitFor,
} from '../../helpers/stack.js';
import { requireTool, runTool } from '../../helpers/tools.js';
import { connection, FAST, redis, redisUrl } from '../bullmq/helpers.js';
import { formatLabels, type PrometheusAlert, prometheusAlerts, sameLabels } from './prometheus.js';
import { RUN_LABEL } from './scenario.js';

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

function serve(registry: ReturnType<typeof createOpenMetricsRegistry>): Promise<Server> {
  const server = createServer((req, res) => {
    renderMetrics(registry, req.headers.accept).then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType });
        res.end(body);
      },
      () => res.writeHead(500).end(),
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

it('BullMQ failed-set growth fires the dead-letter alerts on the real stack', {
  timeout: 120_000,
}, async (t) => {
  const promtool = requireTool(t, 'promtool');
  if (!promtool || !(await redis(t))) return;
  const prometheus = stackEndpoint('HOPTRACE_PROMETHEUS_URL');
  if (!(await requireServer(t, 'Prometheus', () => getJson(`${prometheus}/api/v1/status/buildinfo`)))) return;

  const run = `bq${randomBytes(4).toString('hex')}`;
  const queueName = `${run}-emails`;
  const pausedName = `${run}-reports`;
  const registry = createOpenMetricsRegistry();
  const telemetry = new BullMQTelemetry({ serviceName: 'mailer', registry });
  const queue = new Queue(queueName, { connection: connection(), telemetry });
  const paused = new Queue(pausedName, { connection: connection() });
  cleanups.push(() => queue.obliterate({ force: true }).then(() => queue.close()));
  cleanups.push(() => paused.obliterate({ force: true }).then(() => paused.close()));
  const worker = new Worker(
    queueName,
    telemetry.processor(async () => {
      throw new Error('smtp down');
    }),
    { connection: connection(), telemetry, ...FAST },
  );
  cleanups.push(() => worker.close());
  await paused.add('monthly', {});
  await paused.pause();

  const collector = await startCollector({
    port: 0,
    bullmq: { url: redisUrl(), queues: [queueName, pausedName], intervalMs: 500 },
  });
  cleanups.push(() => collector.close());
  const service = await serve(registry);
  cleanups.push(() => new Promise((r) => service.close(r)));
  const port = (service.address() as AddressInfo).port;
  cleanups.push(
    await registerScrapeTarget(`127.0.0.1:${port}`, { [RUN_LABEL]: run, hoptrace_role: 'service' }),
  );
  cleanups.push(
    await registerScrapeTarget(new URL(collector.url).host, { [RUN_LABEL]: run, hoptrace_role: 'collector' }),
  );

  const nothing = `${RUN_LABEL}="${run}", hoptrace_role="exporter"`;
  const config: HoptraceRulesConfig = {
    ...defaultConfig,
    selectors: {
      collector: `${RUN_LABEL}="${run}", hoptrace_role="collector"`,
      services: `${RUN_LABEL}="${run}", hoptrace_role="service"`,
      kafkaExporter: nothing,
      kminion: nothing,
      rabbitmq: nothing,
      cloudwatch: nothing,
    },
  };
  const rules = renderRuleFile(
    buildAllRules({ config, forScale: 0.01, windowScale: 0.05, evaluationInterval: '1s' }),
  );
  const dir = mkdtempSync(join(tmpdir(), 'hoptrace-bullmq-e2e-'));
  writeFileSync(join(dir, 'rules.yml'), rules);
  const check = runTool(promtool, ['check', 'rules', 'rules.yml'], dir);
  assert.equal(check.status, 0, check.output);
  const removeRules = await addPrometheusRules(rules);
  cleanups.push(removeRules);

  // A job every 300 ms, each failing into the failed set.
  let added = 0;
  const load = setInterval(() => {
    added++;
    queue.add('welcome', { n: added }).catch(() => undefined);
  }, 300);
  cleanups.push(() => clearInterval(load));

  const expected: Record<string, string>[] = [
    {
      alertname: 'DeadLetterQueueGrowing',
      severity: 'warning',
      messaging_system: 'bullmq',
      messaging_destination_name: `${queueName}:failed`,
      dead_letter_source: queueName,
    },
    {
      alertname: 'DeadLettersIncreasing',
      severity: 'warning',
      messaging_system: 'bullmq',
      messaging_destination_name: queueName,
      reason: 'max_attempts',
    },
  ];
  const started = Date.now();
  const firingNow = (alerts: PrometheusAlert[]) =>
    expected.map((labels) => alerts.find((a) => a.state === 'firing' && sameLabels(a.labels, labels)));
  try {
    await waitFor(
      async () => firingNow(await prometheusAlerts()).every((a) => a !== undefined) || undefined,
      { what: 'the BullMQ dead-letter alerts firing', timeoutMs: 60_000, intervalMs: 1000 },
    );
  } catch (err) {
    const mine = (await prometheusAlerts().catch(() => [])).filter((a) =>
      Object.values(a.labels).some((v) => v.includes(run)),
    );
    const scraped = await queryPrometheus(
      `hoptrace_dead_lettered_messages_total{${RUN_LABEL}="${run}"} or up{${RUN_LABEL}="${run}"}`,
    ).catch(() => []);
    throw new Error(
      `${(err as Error).message}\nscraped: ${JSON.stringify(scraped.map((x) => [x.metric, x.value[1]]))}\nalerts of this run:\n  ${mine.map((a) => `${a.state} ${formatLabels(a.labels)}`).join('\n  ') || '(none)'}`,
    );
  }
  t.diagnostic(`both alerts firing ${Math.round((Date.now() - started) / 1000)} s after the load started`);

  // The failed-set gauge Prometheus scraped equals BullMQ's own failed count at that time.
  clearInterval(load);
  await waitFor(
    async () => {
      const failed = (await queue.getJobCounts('failed')).failed;
      const [sample] = await queryPrometheus(
        `hoptrace_dlq_messages{${RUN_LABEL}="${run}", messaging_destination_name="${queueName}:failed"}`,
      );
      return sample !== undefined && Number(sample.value[1]) === failed && failed > 0;
    },
    { what: 'the scraped failed-set gauge to equal the failed count', timeoutMs: 15_000, intervalMs: 500 },
  );

  // The BullMQ dashboard panels have data: the paused queue, and the stalled-jobs series (0).
  const [pausedSample] = await queryPrometheus(
    `max by (messaging_system, messaging_destination_name) (hoptrace_queue_paused{${RUN_LABEL}="${run}", messaging_destination_name="${pausedName}"})`,
  );
  assert.equal(pausedSample?.value[1], '1');
  const stalled = await queryPrometheus(
    `sum by (messaging_system, messaging_destination_name) (increase(hoptrace_stalled_jobs_total{${RUN_LABEL}="${run}"}[15s]))`,
  );
  assert.deepEqual(
    stalled.map((s) => [s.metric.messaging_destination_name, s.value[1]]),
    [[queueName, '0']],
  );
});
