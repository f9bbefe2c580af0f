/**
 * Builds the rule files from the sources. The shipped files use the config as is; the end-to-end
 * test builds a variant from the same sources with every `for` and window scaled down
 * (`buildAlertRules({ forScale: 0.05, evaluationInterval: '1s' })`), never a hand-edited copy.
 */
import { brokerStateRules } from './adapters.js';
import { bullmqAlerts } from './bullmq.js';
import { collectorAlerts } from './collector.js';
import { defaultConfig, type HoptraceRulesConfig } from './config.js';
import { consumerLagAlerts } from './consumer-lag.js';
import { deadLetterAlerts } from './dead-letters.js';
import { parseDuration, scaleDuration } from './duration.js';
import { flowAlerts } from './flows.js';
import { sloAlerts, sloRecordingRules } from './slo.js';
import type { AlertingRule, RecordingRule, RuleContext, RuleFile, RuleGroup } from './types.js';

export interface BuildOptions {
  config?: HoptraceRulesConfig;
  /** Multiplies every `for` duration (1 = as shipped). */
  forScale?: number;
  /** Multiplies every range window; defaults to `forScale`. */
  windowScale?: number;
  /** Evaluation interval written on every group; unset leaves Prometheus' global interval. */
  evaluationInterval?: string;
  /** Scaled windows never go below this, so rate() still sees two samples; default 4 intervals or 10 s. */
  minWindowSeconds?: number;
}

function context(options: BuildOptions): RuleContext {
  const forScale = options.forScale ?? 1;
  const windowScale = options.windowScale ?? forScale;
  const interval = options.evaluationInterval ? parseDuration(options.evaluationInterval) : undefined;
  const minWindow = options.minWindowSeconds ?? (interval ? 4 * interval : 10);
  return {
    config: options.config ?? defaultConfig,
    window: (duration) => scaleDuration(duration, windowScale, minWindow),
    forDuration: (duration) => scaleDuration(duration, forScale, interval ?? 1),
  };
}

function withInterval<R>(group: RuleGroup<R>, options: BuildOptions): RuleGroup<R> {
  return options.evaluationInterval
    ? { name: group.name, interval: options.evaluationInterval, rules: group.rules }
    : group;
}

/** `<base>/docs/runbooks.md#<alert lowercased>`: the anchor GitHub gives a `## AlertName` heading. */
export function runbookUrl(baseUrl: string, alert: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/docs/runbooks.md#${alert.toLowerCase()}`;
}

export function buildRecordingRules(options: BuildOptions = {}): RuleFile<RecordingRule> {
  const ctx = context(options);
  return { groups: [brokerStateRules(ctx), sloRecordingRules(ctx)].map((g) => withInterval(g, options)) };
}

export function buildAlertRules(options: BuildOptions = {}): RuleFile<AlertingRule> {
  const ctx = context(options);
  const groups = [
    deadLetterAlerts(ctx),
    consumerLagAlerts(ctx),
    sloAlerts(ctx),
    flowAlerts(ctx),
    bullmqAlerts(ctx),
    collectorAlerts(ctx),
  ];
  return {
    groups: groups.map((group) =>
      withInterval(
        {
          ...group,
          rules: group.rules.map((rule) => ({
            ...rule,
            annotations: {
              ...rule.annotations,
              runbook_url: runbookUrl(ctx.config.runbookBaseUrl, rule.alert),
            },
          })),
        },
        options,
      ),
    ),
  };
}

/**
 * Recording and alert groups in one file, recording first: what a test loads into a running
 * Prometheus (e.g. `buildAllRules({ forScale: 0.05, evaluationInterval: '1s' })`).
 */
export function buildAllRules(options: BuildOptions = {}): RuleFile<RecordingRule | AlertingRule> {
  return { groups: [...buildRecordingRules(options).groups, ...buildAlertRules(options).groups] };
}
