/** The shapes of Prometheus rule files, as the rule sources write them. */
import type { HoptraceRulesConfig } from './config.js';

export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export type Severity = 'critical' | 'warning' | 'info';

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: Severity } & Record<string, string>;
  annotations: { summary: string; description: string; runbook_url?: string };
}

export interface RuleGroup<Rule> {
  name: string;
  interval?: string;
  rules: Rule[];
}

export interface RuleFile<Rule> {
  groups: RuleGroup<Rule>[];
}

/**
 * What the rule sources are built with: the config plus the two scalings the end-to-end test uses
 * to make alerts fire in seconds. `window` and `forDuration` apply them; sources never scale by hand.
 */
export interface RuleContext {
  config: HoptraceRulesConfig;
  /** A range window of an expression (rate, increase, deriv), scaled for the test variant. */
  window(duration: string): string;
  /** A `for` duration, scaled for the test variant. */
  forDuration(duration: string): string;
}
