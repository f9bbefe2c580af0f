import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VERSION } from '../../instrumentation/core/version.js';

const root = join(import.meta.dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * Imports `specifiers` in a fresh process whose module resolution refuses amqplib and kafkajs, and
 * returns that process's exit status and stderr.
 */
function importWithoutPeers(specifiers: string[]) {
  const hooks = `export async function resolve(specifier, context, next) {
    if (/^(amqplib|kafkajs)(\\/|$)/.test(specifier)) throw new Error('peer dependency loaded: ' + specifier);
    return next(specifier, context);
  }`;
  const script = `
    const { register } = await import('node:module');
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
    for (const s of ${JSON.stringify(specifiers)}) await import(s);`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
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
    assert.ok(pkg.exports['./register'], 'exports ./register');
    assert.equal(typeof (await import('hoptrace/amqp')).AmqplibInstrumentation, 'function');
    assert.equal(typeof (await import('hoptrace/kafka')).KafkajsInstrumentation, 'function');
  });

  it('loads neither amqplib nor kafkajs for `hoptrace` and `hoptrace/bus`', () => {
    const run = importWithoutPeers(['hoptrace', 'hoptrace/bus']);
    assert.equal(run.status, 0, run.stderr);
    // The guard itself works: importing a peer in that process fails.
    const control = importWithoutPeers(['kafkajs']);
    assert.notEqual(control.status, 0);
    assert.match(control.stderr, /peer dependency loaded: kafkajs/);
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
