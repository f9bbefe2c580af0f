/**
 * `npm audit` of the production dependencies: fails on any high or critical advisory.
 *
 *   node dist/scripts/audit.js        exit 0: none; 1: high/critical found; 2: the audit could not run
 *
 * Prints one summary line, then the affected packages. The audit needs the registry's advisory
 * endpoint; when it cannot be reached the script says so and exits 2 (never "0 found").
 */
import { spawnSync } from 'node:child_process';

interface AuditReport {
  vulnerabilities?: Record<string, { severity: string; via: unknown[]; range?: string }>;
  metadata?: { vulnerabilities?: Record<string, number>; dependencies?: { prod?: number } };
  error?: { summary?: string; detail?: string };
  /** npm's shape when the advisory endpoint answers with an HTTP error. */
  message?: string;
}

const result = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8', shell: false });
let report: AuditReport;
try {
  report = JSON.parse(result.stdout) as AuditReport;
} catch {
  console.error(
    `audit: npm audit gave no report (exit ${result.status}): ${result.stderr.trim().split('\n').pop()}`,
  );
  process.exit(2);
}
const counts = report.metadata?.vulnerabilities;
if (report.error || !counts) {
  const reason = report.error?.summary || report.message || 'no metadata in the report';
  console.error(`audit: npm audit could not run: ${reason}`);
  process.exit(2);
}
const serious = (counts.high ?? 0) + (counts.critical ?? 0);
console.log(
  `audit: ${report.metadata?.dependencies?.prod ?? '?'} production dependencies; ` +
    ['critical', 'high', 'moderate', 'low', 'info'].map((s) => `${s} ${counts[s] ?? 0}`).join(', '),
);
for (const [name, v] of Object.entries(report.vulnerabilities ?? {}))
  console.log(`  ${v.severity.padEnd(8)} ${name} ${v.range ?? ''}`);
process.exit(serious > 0 ? 1 : 0);
