/**
 * `docs/benchmarks.md` from the latest result of each workload: method, machine and versions, per
 * workload the medians, paired ratios and target verdicts. Text after the hand-written marker is kept.
 */
import type { Machine, Versions } from './environment.js';
import { modeSpread, ratiosOf, type Sample, type Spread, verdicts } from './stats.js';
import type { WorkloadSpec } from './suite.js';

export interface WorkloadResult {
  name: string;
  finishedAt: string;
  rounds: number;
  scale: number;
  loadBefore: number[];
  loadAfter: number[];
  machine: Machine;
  versions: Versions;
  samples: Sample[];
  failures: { round: number; mode: string; error: string }[];
  skipped?: string;
}

export const HAND_WRITTEN_MARKER = '<!-- hand-written below this line: kept by npm run bench -->';

const METHOD = `Each workload runs each mode in its own Node.js process (\`node dist/bench/workloads/<workload>.js <mode>
<scale>\`), so instrumentations cannot leak between modes and every mode starts from a cold heap and warms
up itself before its clock starts. A run has several rounds; every round runs every mode once, and the
mode order shifts by one each round, so no mode always runs first or last (or right after the same
neighbour). Reported: per mode the median over the rounds (with min and max); per pair of modes the
**paired ratio**: the ratio of the two modes _within_ each round, then the median (min, max) of those
ratios. Pairing cancels most of the drift of a shared machine (other processes, broker state) between
rounds; a ratio is only ever computed within one run. Targets are checked on those medians.

Traced modes sample every span (AlwaysOn) into a \`BatchSpanProcessor\` with an exporter that counts and
drops spans, and register the W3C trace context + baggage propagator and the AsyncLocalStorage context
manager globally, as an OTel SDK setup does. hoptrace modes also record all of their prom-client metrics
into a fresh OpenMetrics registry (exemplars on). OTel contrib instrumentations run with their default
configuration and no MeterProvider (their metrics are no-ops). The headers-only floor is the raw client
plus a header table holding only a fixed traceparent and a correlation ID string, no spans: the cost any
header-based propagation pays the client library to encode and decode headers.

Run it: \`npm run bench [workload...] [--rounds N] [--quick] [--modes a,b]\` (the brokers come from
\`test/helpers/env.ts\`: the project's stack, \`npm run stack -- up\`, or \`HOPTRACE_*\` variables).
Results also go to \`bench/results/\` as JSON.`;

function fmt(value: number | undefined, unit = ''): string {
  if (value === undefined) return 'n/a';
  const abs = Math.abs(value);
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  const text = value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit ? `${text} ${unit}` : text;
}

function fmtSpread(s: Spread | undefined, unit: string): string {
  if (!s) return 'n/a';
  return `${fmt(s.median, unit)} (${fmt(s.min)} to ${fmt(s.max)})`;
}

function ratioText(s: Spread | undefined): string {
  if (!s) return 'n/a';
  return `**${s.median.toFixed(2)}x** (${s.min.toFixed(2)} to ${s.max.toFixed(2)}, n=${s.n})`;
}

function workloadSection(spec: WorkloadSpec, result: WorkloadResult | undefined): string {
  const lines = [`## ${spec.title}`, ''];
  if (spec.notes) lines.push(spec.notes, '');
  if (!result) return [...lines, 'Not run yet.', ''].join('\n');
  if (result.skipped) return [...lines, `Skipped: ${result.skipped}.`, ''].join('\n');
  const { samples } = result;
  lines.push(
    `Run ${result.finishedAt} at commit \`${result.versions.hoptraceCommit}\`: ${result.rounds} rounds, scale ${result.scale}, ` +
      `load average ${result.loadBefore.map((l) => l.toFixed(2)).join(' / ')} before, ` +
      `${result.loadAfter.map((l) => l.toFixed(2)).join(' / ')} after.`,
    '',
  );

  const header = ['mode', ...spec.metrics.map((m) => `${m.label} (${m.unit})`)];
  lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
  for (const mode of spec.modes) {
    const cells = spec.metrics.map((m) => fmtSpread(modeSpread(samples, mode, m.metric), ''));
    lines.push(`| ${mode} | ${cells.join(' | ')} |`);
  }
  lines.push('', 'Median over rounds (min to max).', '');

  const ratios = ratiosOf(spec, samples);
  if (ratios.length > 0) {
    lines.push('| paired ratio | median (min to max, rounds) |', '|---|---|');
    for (const r of ratios) {
      const label = spec.metrics.find((m) => m.metric === r.metric)?.label ?? r.metric;
      lines.push(`| ${label}: ${r.mode} / ${r.versus} | ${ratioText(r)} |`);
    }
    lines.push('');
  }

  if (spec.targets.length === 0) lines.push('No target: reported for comparison.');
  else lines.push('| target | measured | verdict |', '|---|---|---|');
  for (const v of verdicts(spec, samples)) {
    const unit =
      v.target.kind === 'ratio' ? 'x' : (spec.metrics.find((m) => m.metric === v.target.metric)?.unit ?? '');
    const measured =
      v.measured === undefined
        ? 'n/a'
        : v.target.kind === 'ratio'
          ? `${v.measured.toFixed(2)}x (${v.min?.toFixed(2)} to ${v.max?.toFixed(2)})`
          : fmt(v.measured, unit);
    const verdict = v.met === undefined ? 'not measured' : v.met ? 'met' : '**missed**';
    lines.push(`| ${v.target.label} | ${measured} | ${verdict} |`);
  }
  if (result.failures.length > 0) {
    lines.push('', 'Failed runs:');
    for (const f of result.failures) lines.push(`- round ${f.round}, ${f.mode}: ${f.error}`);
  }
  lines.push('');
  return lines.join('\n');
}

function environmentSection(results: WorkloadResult[]): string {
  const latest = [...results].sort((a, b) => a.finishedAt.localeCompare(b.finishedAt)).at(-1);
  if (!latest) return '';
  const { machine: m, versions: v } = latest;
  const lines = [
    '## Machine and versions',
    '',
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.kernel}; the brokers run on the same machine.`,
    `- Node.js ${v.node}; ${Object.entries(v.packages)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}.`,
    `- Brokers: ${Object.entries(v.brokers)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}.`,
    '',
  ];
  return lines.join('\n');
}

export function renderReport(suite: WorkloadSpec[], results: WorkloadResult[], handWritten: string): string {
  const byName = new Map(results.map((r) => [r.name, r]));
  const parts = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` (`scripts/bench.ts`); do not edit above the hand-written marker.',
    '',
    '## Method',
    '',
    METHOD,
    '',
    environmentSection(results),
    ...suite.map((spec) => workloadSection(spec, byName.get(spec.name))),
    HAND_WRITTEN_MARKER,
    handWritten.length > 0 ? handWritten : '\n',
  ];
  return parts.join('\n');
}
