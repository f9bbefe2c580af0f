import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VERSION } from '../../instrumentation/core/version.js';

const root = join(import.meta.dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Imports `specifiers` in a fresh process and lists the CommonJS modules it loaded from node_modules. */
function loadedPackages(specifiers: string[]): string[] {
  const script = `
    const { createRequire } = await import('node:module');
    for (const s of ${JSON.stringify(specifiers)}) await import(s);
    const cache = createRequire(import.meta.url).cache;
    console.log(JSON.stringify(Object.keys(cache)));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const files: string[] = JSON.parse(run.stdout);
  return [...new Set(files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean))] as string[];
}

describe('the hoptrace package', () => {
  it('exports every subpath of the contract', async () => {
    for (const subpath of ['.', './amqp', './kafka', './bus', './collector']) {
      assert.ok(pkg.exports[subpath], `exports ${subpath}`);
    }
    const core = await import('hoptrace');
    for (const name of ['currentCorrelationId', 'withCorrelationId', 'metricsRegistry', 'renderMetrics']) {
      assert.ok(name in core, `hoptrace exports ${name}`);
    }
    assert.equal(typeof (await import('hoptrace/amqp')).instrumentAmqp, 'function');
    assert.equal(typeof (await import('hoptrace/kafka')).instrumentKafka, 'function');
    assert.equal(typeof (await import('hoptrace/bus')).Bus, 'function');
    assert.equal(typeof (await import('hoptrace/collector')).startCollector, 'function');
  });

  it('loads neither amqplib nor kafkajs for `hoptrace` and `hoptrace/bus`', () => {
    const loaded = loadedPackages(['hoptrace', 'hoptrace/bus']);
    assert.ok(!loaded.includes('amqplib'), `loaded: ${loaded}`);
    assert.ok(!loaded.includes('kafkajs'), `loaded: ${loaded}`);
  });

  it('keeps amqplib and kafkajs optional peer dependencies, and the scope version in step', () => {
    for (const peer of ['amqplib', 'kafkajs']) {
      assert.ok(pkg.peerDependencies?.[peer], `${peer} is a peer dependency`);
      assert.equal(pkg.peerDependenciesMeta?.[peer]?.optional, true, `${peer} is optional`);
      assert.equal(pkg.dependencies?.[peer], undefined, `${peer} is not a dependency`);
    }
    assert.equal(VERSION, pkg.version);
    assert.equal(pkg.type, 'module');
    assert.equal(pkg.bin.hoptrace, 'dist/cli/index.js');
  });
});
