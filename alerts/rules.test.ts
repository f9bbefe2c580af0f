import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BUCKETS } from '../instrumentation/core/metrics.js';
import { repoRoot, requireTool, runTool } from '../test/helpers/tools.js';
import { RULE_FILES, renderShippedRules } from './build.js';
import { defaultConfig } from './src/config.js';
import { parseDuration } from './src/duration.js';
import { renderRuleFile } from './src/render.js';
import { buildAlertRules, buildAllRules, buildRecordingRules } from './src/rules.js';
import type { AlertingRule } from './src/types.js';

const root = repoRoot();
const shippedAlerts = buildAlertRules().groups.flatMap((g) => g.rules);

/** GitHub's anchor for a Markdown heading: lowercased, punctuation dropped, spaces to dashes. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const [, heading] of markdown.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    anchors.add(
      heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    );
  }
  return anchors;
}

describe('generated rule files', () => {
  it('equal what the TypeScript sources build (run `npm run alerts` after changing them)', () => {
    const rendered = renderShippedRules();
    for (const kind of Object.keys(RULE_FILES) as (keyof typeof RULE_FILES)[]) {
      const committed = readFileSync(join(root, RULE_FILES[kind]), 'utf8');
      assert.equal(committed, rendered[kind], `${RULE_FILES[kind]} is stale`);
    }
  });

  it('pass `promtool check rules`', (t) => {
    const promtool = requireTool(t, 'promtool');
    if (!promtool) return;
    const run = runTool(promtool, ['check', 'rules', RULE_FILES.recording, RULE_FILES.alerts]);
    assert.equal(run.status, 0, run.output);
  });

  it('pass every `promtool test rules` case in alerts/tests', (t) => {
    const promtool = requireTool(t, 'promtool');
    if (!promtool) return;
    const dir = join(root, 'alerts', 'tests');
    const files = readdirSync(dir).filter((f) => f.endsWith('.test.yaml'));
    assert.ok(files.length >= 5, `found ${files.length} promtool test files`);
    const run = runTool(promtool, ['test', 'rules', ...files], dir);
    assert.equal(run.status, 0, run.output);
  });
});

describe('alert rules', () => {
  const required = [
    'DeadLettersIncreasing',
    'DeadLetterQueueGrowing',
    'DeadLetterQueueNotDrained',
    'ConsumerLagHigh',
    'ConsumerLagGrowing',
    'ConsumerStalled',
    'BacklogWithoutConsumers',
    'ProcessingErrorBudgetBurn',
    'MessageAgeBudgetBurn',
    'UnconsumedMessages',
    'CollectorDown',
    'StaleBrokerData',
  ];

  it('include every alert the project promises', () => {
    const names = new Set(shippedAlerts.map((r) => r.alert));
    assert.deepEqual(
      required.filter((name) => !names.has(name)),
      [],
    );
  });

  it('have a PascalCase name, a severity, a summary, a templated description and a runbook', () => {
    for (const rule of shippedAlerts) {
      assert.match(rule.alert, /^[A-Z][a-zA-Z]+$/, rule.alert);
      assert.ok(['critical', 'warning', 'info'].includes(rule.labels.severity), rule.alert);
      assert.ok(rule.annotations.summary.length > 10, `${rule.alert} summary`);
      // absent() alerts have no labels to template: they say what is missing instead.
      if (!rule.expr.startsWith('absent(')) {
        assert.match(rule.annotations.description, /\{\{.+\}\}/, `${rule.alert} description is templated`);
      }
      assert.equal(
        rule.annotations.runbook_url,
        `${defaultConfig.runbookBaseUrl}/docs/runbooks.md#${rule.alert.toLowerCase()}`,
      );
    }
  });

  it('link runbooks to sections that exist in docs/runbooks.md', () => {
    const anchors = anchorsOf(readFileSync(join(root, 'docs', 'runbooks.md'), 'utf8'));
    const missing = shippedAlerts
      .map((r) => r.annotations.runbook_url?.split('#')[1] ?? '')
      .filter((anchor) => !anchors.has(anchor));
    assert.deepEqual([...new Set(missing)], []);
  });

  it('measure message age against a bucket boundary the wrappers really export', () => {
    assert.ok((BUCKETS.age as readonly number[]).includes(defaultConfig.slo.messageAgeSeconds));
  });
});

describe('test variant of the rules', () => {
  const forOf = (rules: AlertingRule[]) => rules.map((r) => parseDuration(r.for ?? '0s'));

  it('scales every `for` and window from the same sources, keeping names, labels and annotations', () => {
    const scaled = buildAlertRules({ forScale: 0.05, evaluationInterval: '1s' });
    const scaledAlerts = scaled.groups.flatMap((g) => g.rules);
    assert.deepEqual(
      scaledAlerts.map((r) => [r.alert, r.labels]),
      shippedAlerts.map((r) => [r.alert, r.labels]),
    );
    assert.deepEqual(
      forOf(scaledAlerts),
      forOf(shippedAlerts).map((s) => Math.max(1, Math.round(s * 0.05))),
    );
    // DeadLettersIncreasing: 10m -> 30s, its 5m rate window -> 15s.
    const deadLetters = scaledAlerts.find((r) => r.alert === 'DeadLettersIncreasing');
    assert.equal(deadLetters?.for, '30s');
    assert.match(deadLetters?.expr ?? '', /\[15s\]/);
    assert.ok(scaled.groups.every((g) => g.interval === '1s'));
  });

  it('passes `promtool check rules`', (t) => {
    const promtool = requireTool(t, 'promtool');
    if (!promtool) return;
    const dir = mkdtempSync(join(tmpdir(), 'hoptrace-rules-'));
    const options = { forScale: 0.05, evaluationInterval: '1s' };
    writeFileSync(join(dir, 'rules.yml'), renderRuleFile(buildRecordingRules(options)));
    writeFileSync(join(dir, 'alerts.yml'), renderRuleFile(buildAlertRules(options)));
    writeFileSync(join(dir, 'all.yml'), renderRuleFile(buildAllRules(options)));
    const run = runTool(promtool, ['check', 'rules', 'rules.yml', 'alerts.yml', 'all.yml'], dir);
    assert.equal(run.status, 0, run.output);
    const count = buildAllRules(options).groups.reduce((n, g) => n + g.rules.length, 0);
    assert.match(run.output, new RegExp(`all\\.yml\\n {2}SUCCESS: ${count} rules found`));
  });
});

describe('Alertmanager example', () => {
  const config = 'alerts/alertmanager.example.yml';

  it('passes `amtool check-config`', (t) => {
    const amtool = requireTool(t, 'amtool');
    if (!amtool) return;
    const run = runTool(amtool, ['check-config', config]);
    assert.equal(run.status, 0, run.output);
  });

  it('routes every shipped alert by its severity', (t) => {
    const amtool = requireTool(t, 'amtool');
    if (!amtool) return;
    const receiverBySeverity = { critical: 'pager', warning: 'team-chat', info: 'low-priority' };
    for (const rule of shippedAlerts) {
      const labels = Object.entries({ alertname: rule.alert, ...rule.labels }).map(([k, v]) => `${k}=${v}`);
      const run = runTool(amtool, ['config', 'routes', 'test', `--config.file=${config}`, ...labels]);
      assert.equal(run.status, 0, run.output);
      assert.equal(
        run.stdout.trim(),
        receiverBySeverity[rule.labels.severity],
        `${rule.alert} ${rule.labels.severity}`,
      );
    }
  });
});
