/**
 * Service-level objectives on what consumers do, as multi-window multi-burn-rate alerts (Google SRE
 * workbook, chapter 5): an alert needs both a long window (the budget really burns) and a short one
 * (it still burns, so the alert resolves soon after the fix).
 */
import {
  LABEL_ERROR_TYPE,
  METRIC_CONSUMED_MESSAGES,
  METRIC_MESSAGE_AGE,
} from '../../instrumentation/core/semconv.js';
import type { BurnRateWindow } from './config.js';
import { sloWindows } from './config.js';
import { CONSUMER_KEY, recordMessageAgeSlowRatio, recordProcessingErrorRatio } from './names.js';
import { by, leMatcher, num, selector } from './promql.js';
import { CONSUMER_REF } from './templates.js';
import type { AlertingRule, RecordingRule, RuleContext, RuleGroup, Severity } from './types.js';

export function sloRecordingRules(ctx: RuleContext): RuleGroup<RecordingRule> {
  const services = ctx.config.selectors.services;
  const rules: RecordingRule[] = [];
  for (const window of sloWindows(ctx.config)) {
    const range = ctx.window(window);
    const consumed = (...matchers: string[]) =>
      `sum ${by(CONSUMER_KEY)} (rate(${selector(METRIC_CONSUMED_MESSAGES, services, ...matchers)}[${range}]))`;
    rules.push({
      record: recordProcessingErrorRatio(window),
      expr: `${consumed(`${LABEL_ERROR_TYPE}!=""`)}\n/\n${consumed()}`,
    });
    const fast = `sum ${by(CONSUMER_KEY)} (rate(${selector(`${METRIC_MESSAGE_AGE}_bucket`, services, leMatcher(ctx.config.slo.messageAgeSeconds))}[${range}]))`;
    const all = `sum ${by(CONSUMER_KEY)} (rate(${selector(`${METRIC_MESSAGE_AGE}_count`, services)}[${range}]))`;
    rules.push({ record: recordMessageAgeSlowRatio(window), expr: `1 - (\n  ${fast}\n/\n  ${all}\n)` });
  }
  return { name: 'hoptrace.records.slo', rules };
}

/** `(long > f*budget and short > f*budget) or (...)` for each window pair of one severity. */
function burnExpr(record: (window: string) => string, budget: number, windows: BurnRateWindow[]): string {
  return windows
    .map(({ long, short, factor }) => {
      const threshold = num(factor * budget);
      return `(\n  ${record(long)} > ${threshold}\nand\n  ${record(short)} > ${threshold}\n)`;
    })
    .join('\nor\n');
}

interface BudgetAlert {
  alert: string;
  record: (window: string) => string;
  objective: number;
  summary: Record<'critical' | 'warning', string>;
  /** What the burning budget is about, completed with the pace and objective. */
  what: string;
}

function budgetBurn(ctx: RuleContext, spec: BudgetAlert): AlertingRule[] {
  const budget = 1 - spec.objective;
  const tiers: {
    severity: Extract<Severity, 'critical' | 'warning'>;
    windows: BurnRateWindow[];
    for: string;
  }[] = [
    {
      severity: 'critical',
      windows: ctx.config.slo.burnRates.critical,
      for: ctx.config.for.budgetBurnCritical,
    },
    { severity: 'warning', windows: ctx.config.slo.burnRates.warning, for: ctx.config.for.budgetBurnWarning },
  ];
  const objective = `${num(spec.objective * 100)}%`;
  return tiers.map((tier) => ({
    alert: spec.alert,
    expr: burnExpr(spec.record, budget, tier.windows),
    for: ctx.forDuration(tier.for),
    labels: { severity: tier.severity },
    annotations: {
      summary: spec.summary[tier.severity],
      description: `${CONSUMER_REF}: ${spec.what} is {{ $value | humanizePercentage }} against a budget of ${num(budget * 100)}%; at this pace the budget of the ${objective} objective runs out ${tier.severity === 'critical' ? 'within days' : 'before the month ends'}.`,
    },
  }));
}

export function sloAlerts(ctx: RuleContext): RuleGroup<AlertingRule> {
  const { slo } = ctx.config;
  return {
    name: 'hoptrace.alerts.slo',
    rules: [
      ...budgetBurn(ctx, {
        alert: 'ProcessingErrorBudgetBurn',
        record: recordProcessingErrorRatio,
        objective: slo.processingObjective,
        summary: {
          critical: 'Message handlers fail fast enough to exhaust the error budget within days.',
          warning: 'Message handlers fail often enough to exhaust the error budget this month.',
        },
        what: 'the share of failed deliveries',
      }),
      ...budgetBurn(ctx, {
        alert: 'MessageAgeBudgetBurn',
        record: recordMessageAgeSlowRatio,
        objective: slo.messageAgeObjective,
        summary: {
          critical:
            'Messages wait too long before processing, fast enough to exhaust the budget within days.',
          warning: 'Messages wait too long before processing, often enough to exhaust the budget this month.',
        },
        what: `the share of messages that waited more than ${slo.messageAgeSeconds}s before processing`,
      }),
    ],
  };
}
