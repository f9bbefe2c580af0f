/**
 * The benchmark suite's own consistency (unit, no servers): every workload's script exists and offers
 * exactly the suite's modes, ratios and targets name modes of their workload, the servers a workload
 * needs have an address, and the report renders each workload's section from results.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { STACK_DEFAULTS } from '../test/helpers/env.js';
import { machine, serverAddress } from './environment.js';
import { renderReport, type WorkloadResult } from './report.js';
import type { Sample } from './stats.js';
import { SUITE } from './suite.js';

/** The modes a workload script accepts, from its usage line (`<workload> <a|b|c> ...`, exit 2). */
function scriptModes(script: string): Promise<string[]> {
  const path = join(import.meta.dirname, 'workloads', `${script}.js`);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path], { encoding: 'utf8', timeout: 30_000 }, (err, _stdout, stderr) => {
      const match = stderr.match(/usage: <workload> <([^>]+)>/);
      if (err?.code !== 2 || !match) reject(new Error(`${script} without a mode: ${err?.code} ${stderr}`));
      else resolve((match[1] as string).split('|'));
    });
  });
}

describe('bench suite', () => {
  it('has unique workload names and titles', () => {
    assert.equal(new Set(SUITE.map((s) => s.name)).size, SUITE.length);
    assert.equal(new Set(SUITE.map((s) => s.title)).size, SUITE.length);
  });

  it('runs each workload script with exactly the modes the script offers', async () => {
    const scripts = [...new Set(SUITE.map((s) => s.script))];
    for (const script of scripts)
      assert.ok(existsSync(join(import.meta.dirname, 'workloads', `${script}.js`)), script);
    const offered = new Map(await Promise.all(scripts.map(async (s) => [s, await scriptModes(s)] as const)));
    for (const spec of SUITE) {
      for (const mode of spec.modes)
        assert.ok(offered.get(spec.script)?.includes(mode), `${spec.name}: ${spec.script} has no ${mode}`);
    }
    // Every mode of a script is run by some workload of the suite.
    for (const [script, modes] of offered) {
      const run = new Set(SUITE.filter((s) => s.script === script).flatMap((s) => s.modes));
      assert.deepEqual(
        modes.filter((m) => !run.has(m)),
        [],
        `${script}: modes no workload runs`,
      );
    }
  });

  it('names only its own modes and metrics in baselines, pairs and targets', () => {
    for (const spec of SUITE) {
      const metrics = new Set(spec.metrics.map((m) => m.metric));
      assert.ok(spec.modes.includes(spec.baseline), `${spec.name}: baseline ${spec.baseline}`);
      for (const [mode, versus] of spec.pairs ?? []) {
        assert.ok(
          spec.modes.includes(mode) && spec.modes.includes(versus),
          `${spec.name}: pair ${mode}/${versus}`,
        );
      }
      for (const target of spec.targets) {
        assert.ok(spec.modes.includes(target.mode), `${spec.name}: target mode ${target.mode}`);
        if (target.kind === 'ratio')
          assert.ok(spec.modes.includes(target.versus), `${spec.name}: ${target.versus}`);
        assert.ok(metrics.has(target.metric), `${spec.name}: target metric ${target.metric}`);
      }
      assert.ok(spec.scale.quick > 0 && spec.scale.quick <= spec.scale.full, `${spec.name}: scales`);
    }
  });

  it('knows where every needed server answers', () => {
    const defaults: Record<string, { variable: keyof typeof STACK_DEFAULTS; port: number }> = {
      rabbitmq: { variable: 'HOPTRACE_AMQP_URL', port: 35672 },
      kafka: { variable: 'HOPTRACE_KAFKA_BROKERS', port: 39092 },
      redis: { variable: 'HOPTRACE_REDIS_URL', port: 36379 },
      sqs: { variable: 'HOPTRACE_SQS_ENDPOINT', port: 34566 },
      pubsub: { variable: 'HOPTRACE_PUBSUB_EMULATOR_HOST', port: 38085 },
    };
    const needed = new Set(SUITE.flatMap((s) => (s.needs ? [s.needs] : [])));
    assert.deepEqual([...needed].sort(), ['kafka', 'pubsub', 'rabbitmq', 'redis', 'sqs']);
    for (const server of needed) {
      const { host, port } = serverAddress(server);
      assert.ok(host.length > 0 && Number.isInteger(port) && port > 0, `${server}: ${host}:${port}`);
      const known = defaults[server];
      assert.ok(known, server);
      if (!process.env[known.variable])
        assert.deepEqual({ host, port }, { host: '127.0.0.1', port: known.port });
    }
  });

  it('renders every workload section: each mode and metric, the paired ratios, the notes', () => {
    const results: WorkloadResult[] = SUITE.map((spec) => {
      const samples: Sample[] = [];
      for (let round = 0; round < 2; round++) {
        spec.modes.forEach((mode, i) => {
          const extra: Record<string, number> = {};
          for (const m of spec.metrics) if (m.metric !== 'value') extra[m.metric] = 10 * (i + 1) + round;
          samples.push({ round, mode, value: 100 * (i + 1) + round, extra });
        });
      }
      return {
        name: spec.name,
        finishedAt: '2026-12-07T10:00:00.000Z',
        rounds: 2,
        scale: spec.scale.quick,
        loadBefore: [1, 1, 1],
        loadAfter: [1, 1, 1],
        machine: machine(),
        versions: { node: process.version, hoptraceCommit: 'test', packages: {}, brokers: {} },
        samples,
        failures: [],
      };
    });
    const report = renderReport(SUITE, results, '\nkept\n');
    for (const spec of SUITE) {
      const start = report.indexOf(`## ${spec.title}\n`);
      assert.ok(start !== -1, `${spec.name}: no section`);
      const end = report.indexOf('\n## ', start + 3);
      const section = report.slice(start, end === -1 ? undefined : end);
      assert.doesNotMatch(section, /Not run yet|Skipped/);
      if (spec.notes) assert.ok(section.includes(spec.notes), `${spec.name}: notes`);
      for (const metric of spec.metrics) assert.ok(section.includes(`${metric.label} (${metric.unit})`));
      for (const mode of spec.modes) assert.match(section, new RegExp(`^\\| ${mode} \\| `, 'm'));
      if (spec.targets.length === 0) assert.ok(section.includes('No target: reported for comparison.'));
      for (const target of spec.targets) assert.ok(section.includes(`| ${target.label} |`), target.label);
      if (spec.targets.length === 0) assert.ok(section.includes('No target: reported for comparison.'));
      for (const target of spec.targets) assert.ok(section.includes(`| ${target.label} |`), target.label);
      for (const [mode, versus] of spec.pairs ?? [])
        assert.ok(section.includes(`: ${mode} / ${versus} |`), `${spec.name}: ratio ${mode}/${versus}`);
    }
    // The two cloud workloads report CPU per message and p50 latency besides throughput.
    for (const name of ['sqs', 'pubsub']) {
      const spec = SUITE.find((s) => s.name === name);
      assert.ok(spec, name);
      assert.deepEqual(
        spec.metrics.map((m) => m.metric),
        ['value', 'cpu_us_per_msg', 'p50_us'],
      );
    }
    assert.ok(report.endsWith('kept\n'));
  });
});
