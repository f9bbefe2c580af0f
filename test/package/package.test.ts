import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { VERSION } from '../../instrumentation/core/version.js';

const root = join(import.meta.dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * Imports `specifiers` in a fresh process whose module resolution refuses amqplib and kafkajs, and
 * returns that process's exit status and stderr.
 */
function importWithoutPeers(specifiers: string[], refused = 'amqplib|kafkajs|bullmq|ioredis') {
  const hooks = `export async function resolve(specifier, context, next) {
    if (/^(${refused})(\\/|$)/.test(specifier)) throw new Error('peer dependency loaded: ' + specifier);
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
    for (const subpath of ['.', './amqp', './kafka', './bus', './bullmq', './transport', './collector']) {
      assert.ok(pkg.exports[subpath], `exports ${subpath}`);
    }
    const core = await import('hoptrace');
    for (const name of ['currentCorrelationId', 'withCorrelationId', 'metricsRegistry', 'renderMetrics']) {
      assert.ok(name in core, `hoptrace exports ${name}`);
    }
    assert.equal(typeof (await import('hoptrace/transport')).startPublish, 'function');
    assert.equal(typeof (await import('hoptrace/amqp')).instrumentAmqp, 'function');
    assert.equal(typeof (await import('hoptrace/kafka')).instrumentKafka, 'function');
    assert.equal(typeof (await import('hoptrace/bus')).Bus, 'function');
    assert.equal(typeof (await import('hoptrace/bullmq')).BullMQTelemetry, 'function');
    assert.equal(typeof (await import('hoptrace/collector')).startCollector, 'function');
    assert.ok(pkg.exports['./register'], 'exports ./register');
    assert.equal(typeof (await import('hoptrace/amqp')).AmqplibInstrumentation, 'function');
    assert.equal(typeof (await import('hoptrace/kafka')).KafkajsInstrumentation, 'function');
  });

  it('exports at the root only what application code needs, as docs/contract.md lists it', async () => {
    const names = Object.keys(await import('hoptrace')).sort();
    assert.deepEqual(names, [
      'HoptraceError',
      'MAX_CORRELATION_ID_LENGTH',
      'OPENMETRICS_CONTENT_TYPE',
      'PROMETHEUS_CONTENT_TYPE',
      'VERSION',
      'acceptsOpenMetrics',
      'createOpenMetricsRegistry',
      'currentCorrelationId',
      'isHoptraceError',
      'isValidCorrelationId',
      'metricsRegistry',
      'negotiateMetricsFormat',
      'renderMetrics',
      'serviceTracerProvider',
      'withCorrelationId',
    ]);
    const contract = readFileSync(join(root, 'docs', 'contract.md'), 'utf8');
    const section = contract.slice(contract.indexOf('## Root export'));
    for (const name of names) assert.match(section, new RegExp(`\\b${name}\\b`), `contract.md lists ${name}`);
  });

  it('exports the transport kit at hoptrace/transport: the lifecycles, the handler runner, the dead-letter rule', async () => {
    const kit = await import('hoptrace/transport');
    for (const name of [
      'createInstrumentation',
      'startPublish',
      'startDelivery',
      'startBatchDelivery',
      'extractIncoming',
      'injectContext',
      'runHandler',
      'runHandlerAwaited',
      'deadLetterHeaders',
      'settleDeadLettered',
      'HoptraceError',
      'resolveOption',
      'lagGauges',
    ]) {
      assert.equal(
        typeof (kit as Record<string, unknown>)[name],
        'function',
        `hoptrace/transport exports ${name}`,
      );
    }
  });

  it('loads neither amqplib nor kafkajs for `hoptrace`, `hoptrace/bus` and `hoptrace/transport`', () => {
    const run = importWithoutPeers(['hoptrace', 'hoptrace/bus', 'hoptrace/transport']);
    assert.equal(run.status, 0, run.stderr);
    // The guard itself works: importing a peer in that process fails.
    const control = importWithoutPeers(['kafkajs']);
    assert.notEqual(control.status, 0);
    assert.match(control.stderr, /peer dependency loaded: kafkajs/);
  });

  it('exports hoptrace/pubsub, which loads no broker client (not even its own until used)', async () => {
    assert.ok(pkg.exports['./pubsub'], 'exports ./pubsub');
    assert.equal(typeof (await import('hoptrace/pubsub')).instrumentPubSub, 'function');
    const peers = 'amqplib|kafkajs|bullmq|ioredis|@aws-sdk|@google-cloud';
    const run = importWithoutPeers(['hoptrace/pubsub'], peers);
    assert.equal(run.status, 0, run.stderr);
    const control = importWithoutPeers(['@google-cloud/pubsub'], peers);
    assert.match(control.stderr, /peer dependency loaded: @google-cloud\/pubsub/);
    assert.equal(pkg.peerDependencies['@google-cloud/pubsub'], '^5.0.0');
    assert.equal(pkg.peerDependenciesMeta['@google-cloud/pubsub']?.optional, true);
  });

  it("loads no peer for `hoptrace/aws` (the AWS SDK is the application's; helpers load it on first use)", async () => {
    assert.ok(pkg.exports['./aws'], 'exports ./aws');
    const aws = await import('hoptrace/aws');
    assert.equal(typeof aws.instrumentSqs, 'function');
    assert.equal(typeof aws.instrumentSns, 'function');
    const run = importWithoutPeers(['hoptrace/aws'], 'amqplib|kafkajs|bullmq|ioredis|@aws-sdk|@google-cloud');
    assert.equal(run.status, 0, run.stderr);
    const control = importWithoutPeers(['@aws-sdk/client-sqs'], '@aws-sdk');
    assert.match(control.stderr, /peer dependency loaded: @aws-sdk\/client-sqs/);
    for (const peer of ['@aws-sdk/client-sqs', '@aws-sdk/client-sns']) {
      assert.equal(pkg.peerDependenciesMeta?.[peer]?.optional, true, `${peer} is optional`);
    }
  });

  it('loads no peer at all for `hoptrace/bullmq` (BullMQ types are structural)', () => {
    const run = importWithoutPeers(['hoptrace/bullmq']);
    assert.equal(run.status, 0, run.stderr);
    const control = importWithoutPeers(['bullmq']);
    assert.match(control.stderr, /peer dependency loaded: bullmq/);
  });

  it('keeps amqplib and kafkajs optional peer dependencies, and the scope version in step', () => {
    for (const peer of ['amqplib', 'kafkajs', 'bullmq', 'ioredis']) {
      assert.ok(pkg.peerDependencies?.[peer], `${peer} is a peer dependency`);
      assert.equal(pkg.peerDependenciesMeta?.[peer]?.optional, true, `${peer} is optional`);
      assert.equal(pkg.dependencies?.[peer], undefined, `${peer} is not a dependency`);
    }
    assert.equal(VERSION, pkg.version);
    assert.equal(pkg.type, 'module');
    assert.equal(pkg.bin.hoptrace, 'dist/cli/index.js');
  });
});

/** The files `npm pack` would put in the tarball (scripts not run: `prepare` would rebuild dist/ under the tests). */
function packedFiles(): Set<string> {
  const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  return new Set((JSON.parse(run.stdout)[0].files as { path: string }[]).map((f) => f.path));
}

/** Relative modules `file` imports, statically or with a literal `import()`. */
function relativeImports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    out.push(normalize(join(dirname(file), m[1] as string)));
  }
  return out;
}

describe('the published package', () => {
  it('ships no scripts, benchmarks, tests or examples', () => {
    const files = [...packedFiles()];
    const unwanted = files.filter(
      (f) => /^(dist\/)?(scripts|bench|test|examples)\//.test(f) || /\.test\.(js|d\.ts|js\.map)$/.test(f),
    );
    assert.deepEqual(unwanted, []);
  });

  it('ships every module its entry points and the CLI import', () => {
    const files = packedFiles();
    const entries = [pkg.bin.hoptrace as string];
    for (const target of Object.values(pkg.exports as Record<string, string | { default: string }>)) {
      if (typeof target !== 'string') entries.push(target.default.replace(/^\.\//, ''));
    }
    const missing: string[] = [];
    const seen = new Set<string>();
    const queue = [...entries];
    for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
      if (seen.has(file)) continue;
      seen.add(file);
      if (!files.has(file)) {
        missing.push(file);
        continue;
      }
      if (file.endsWith('.js')) queue.push(...relativeImports(file));
    }
    assert.deepEqual(missing, []);
    assert.ok(seen.size > 50, `walked ${seen.size} modules`);
  });

  it('ships the built web UI (the collector serves it from the package, no network)', () => {
    const files = packedFiles();
    const assets = ['index.html', 'app.js', 'app.css', 'elk-worker.min.js'].map(
      (name) => `dist/collector/ui/assets/${name}`,
    );
    assert.deepEqual(
      assets.filter((f) => !files.has(f)),
      [],
    );
    assert.deepEqual(
      [...files].filter((f) => f.startsWith('collector/ui/web/')),
      [],
      'the front-end sources stay out',
    );
  });
});
