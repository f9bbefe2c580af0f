/**
 * `npm run bench`: runs the benchmark suite (`bench/suite.ts`) side by side with the raw clients and
 * OpenTelemetry contrib, and writes `docs/benchmarks.md` plus a JSON result under `bench/results/`.
 * Not part of `npm test`; needs the real brokers for the broker workloads.
 *
 *   node dist/scripts/bench.js [workload...] [--rounds N] [--quick] [--modes a,b] [--no-docs]
 *   workload      substring of a workload name (fanout, amqp, kafka-each-message, kafka-each-batch,
 *                 bullmq, sqs, pubsub, heap-growth, collector-ingest, collector-memory, collector-overload)
 *   --rounds N    rounds per workload (default 5; 3 with --quick)
 *   --quick       smaller message counts and fewer rounds, for a fast look
 *   --modes a,b   only these modes (ratios need both of their modes)
 *   --no-docs     leave docs/benchmarks.md alone
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { load, machine, serverAddress, versions } from '../bench/environment.js';
import { HAND_WRITTEN_MARKER, renderReport, type WorkloadResult } from '../bench/report.js';
import type { Sample } from '../bench/stats.js';
import { type Server, SUITE, type WorkloadSpec } from '../bench/suite.js';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const DIST = join(REPO_ROOT, 'dist');
const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
const LATEST = join(RESULTS_DIR, 'latest.json');
const DOCS = join(REPO_ROOT, 'docs', 'benchmarks.md');
const MODE_TIMEOUT_MS = 10 * 60_000;

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function reachable(server: Server): Promise<boolean> {
  const { host, port } = serverAddress(server);
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, host);
  });
}

interface ModeOutput {
  unit: string;
  value: number;
  extra?: Record<string, number>;
}

/** One mode in its own process; resolves with its JSON line. */
function runMode(spec: WorkloadSpec, mode: string, scale: number): Promise<ModeOutput> {
  const script = join(DIST, 'bench', 'workloads', `${spec.script}.js`);
  return new Promise((resolve, reject) => {
    const args = [...(spec.nodeArgs ?? []), script, mode, String(scale), ...spec.args];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), MODE_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0) {
        try {
          resolve(JSON.parse(line) as ModeOutput);
          return;
        } catch {
          // reported below
        }
      }
      const reason = signal ? `killed by ${signal}` : `exit ${code}`;
      const lines = stderr.trim().split('\n');
      // A crash's stack ends in runtime frames: name its error line too, or the report says nothing.
      const error = lines.find((l) => /\w*Error\b/.test(l))?.trim();
      const tail = lines.slice(-3).join(' | ');
      const detail = error && !tail.includes(error) ? `${error} | ... | ${tail}` : tail;
      reject(new Error(`${reason}: ${detail || line}`));
    });
  });
}

async function runWorkload(
  spec: WorkloadSpec,
  options: { rounds: number; quick: boolean; modes: string[] | undefined },
): Promise<WorkloadResult> {
  const scale = options.quick ? spec.scale.quick : spec.scale.full;
  const base = {
    name: spec.name,
    rounds: options.rounds,
    scale,
    machine: machine(),
    versions: await versions(),
    samples: [] as Sample[],
    failures: [] as WorkloadResult['failures'],
  };
  if (spec.needs && !(await reachable(spec.needs))) {
    const { host, port } = serverAddress(spec.needs);
    const skipped = `${spec.needs} is not reachable at ${host}:${port}; start it with \`npm run stack -- up\``;
    log(`${spec.name}: skipped, ${skipped}`);
    return { ...base, finishedAt: new Date().toISOString(), loadBefore: load(), loadAfter: load(), skipped };
  }
  const modes = spec.modes.filter((m) => !options.modes || options.modes.includes(m));
  const loadBefore = load();
  for (let round = 0; round < options.rounds; round++) {
    // Rotate the order each round so no mode always runs first, last or after the same neighbour.
    const order = modes.map((_, i) => modes[(i + round) % modes.length] as string);
    for (const mode of order) {
      try {
        const out = await runMode(spec, mode, scale);
        base.samples.push({ round, mode, value: out.value, extra: out.extra ?? {} });
        log(`${spec.name} round ${round + 1}/${options.rounds} ${mode}: ${out.value.toFixed(3)} ${out.unit}`);
      } catch (err) {
        const error = (err as Error).message;
        base.failures.push({ round, mode, error });
        log(`${spec.name} round ${round + 1}/${options.rounds} ${mode}: FAILED ${error}`);
      }
    }
  }
  return { ...base, finishedAt: new Date().toISOString(), loadBefore, loadAfter: load() };
}

function readLatest(): WorkloadResult[] {
  if (!existsSync(LATEST)) return [];
  try {
    return JSON.parse(readFileSync(LATEST, 'utf8')) as WorkloadResult[];
  } catch {
    return [];
  }
}

function handWrittenPart(): string {
  if (!existsSync(DOCS)) return '';
  const text = readFileSync(DOCS, 'utf8');
  const at = text.indexOf(HAND_WRITTEN_MARKER);
  return at === -1 ? '' : text.slice(at + HAND_WRITTEN_MARKER.length);
}

/** Formats a written Markdown file as `npm run lint` expects (aligned tables); skipped without biome. */
function formatMarkdown(file: string): void {
  const biome = join(REPO_ROOT, 'node_modules', '.bin', 'biome');
  const result = spawnSync(biome, ['format', '--write', file], { stdio: 'ignore' });
  if (result.status !== 0) log(`could not format ${file} with biome; run npm run format`);
}

/** The report's section of one workload: from its heading to the next heading or the marker. */
function sectionOf(report: string, title: string): string {
  const start = report.indexOf(`## ${title}`);
  if (start === -1) return '';
  const ends = [report.indexOf('\n## ', start + 3), report.indexOf(HAND_WRITTEN_MARKER, start)].filter(
    (i) => i !== -1,
  );
  return report.slice(start, ends.length > 0 ? Math.min(...ends) : undefined).trimEnd();
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string' },
      quick: { type: 'boolean', default: false },
      modes: { type: 'string' },
      'no-docs': { type: 'boolean', default: false },
    },
  });
  const quick = values.quick === true;
  const rounds = values.rounds === undefined ? (quick ? 3 : 5) : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer`);
  const modes = values.modes?.split(',').filter((m) => m.length > 0);
  const selected = SUITE.filter(
    (s) => positionals.length === 0 || positionals.some((p) => s.name.includes(p)),
  );
  if (selected.length === 0)
    throw new Error(
      `no workload matches ${positionals.join(' ')}; known: ${SUITE.map((s) => s.name).join(', ')}`,
    );

  const results: WorkloadResult[] = [];
  for (const spec of selected) {
    log(`${spec.name}: ${rounds} rounds of ${spec.modes.join(', ')}`);
    results.push(await runWorkload(spec, { rounds, quick, modes }));
  }

  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(RESULTS_DIR, `${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
  const latest = new Map(readLatest().map((r) => [r.name, r]));
  for (const r of results) latest.set(r.name, r);
  writeFileSync(LATEST, `${JSON.stringify([...latest.values()], null, 2)}\n`);

  const report = renderReport(SUITE, [...latest.values()], handWrittenPart());
  if (!values['no-docs']) {
    writeFileSync(DOCS, report);
    formatMarkdown(DOCS);
    log(`wrote ${DOCS}`);
  }
  for (const spec of selected) process.stdout.write(`${sectionOf(report, spec.title)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(1);
});
