/**
 * `npm run alerts`: writes alerts/generated/hoptrace-rules.yml (recording) and hoptrace-alerts.yml
 * (alerts) from alerts/src. A test rebuilds them and fails when the committed files differ.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderRuleFile } from './src/render.js';
import { buildAlertRules, buildRecordingRules } from './src/rules.js';

/** Paths relative to the repository root. */
export const RULE_FILES = {
  recording: 'alerts/generated/hoptrace-rules.yml',
  alerts: 'alerts/generated/hoptrace-alerts.yml',
} as const;

export function renderShippedRules(): Record<keyof typeof RULE_FILES, string> {
  return { recording: renderRuleFile(buildRecordingRules()), alerts: renderRuleFile(buildAlertRules()) };
}

function main(): void {
  const root = join(import.meta.dirname, '..', '..');
  const rendered = renderShippedRules();
  for (const kind of Object.keys(RULE_FILES) as (keyof typeof RULE_FILES)[]) {
    writeFileSync(join(root, RULE_FILES[kind]), rendered[kind]);
    console.log(`wrote ${RULE_FILES[kind]}`);
  }
}

if (process.argv[1] === import.meta.filename) main();
