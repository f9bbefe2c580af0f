import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseDemoFlags } from './demo.js';

const cli = join(import.meta.dirname, '..', 'index.js');

describe('hoptrace demo (in process, no server)', () => {
  it('exits 0 and prints every journey: four consumers, the retries and the dead letter', () => {
    const run = spawnSync(process.execPath, [cli, 'demo', '--orders', '3'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const out = run.stdout;
    for (const id of ['order-1', 'order-2', 'order-3']) assert.match(out, new RegExp(`Journey ${id}:`));
    // order-3's email bounces: 3 attempts, then the dead letter, which the audit service consumes.
    const order3 = out.slice(out.indexOf('Journey order-3'), out.indexOf('Metrics'));
    for (const consumer of ['billing', 'inventory', 'email', 'shipping', 'dlq-audit']) {
      assert.match(order3, new RegExp(`${consumer} \\(${consumer}\\) <- `), `${consumer} in the tree`);
    }
    assert.match(order3, /attempt 1: retry/);
    assert.match(order3, /attempt 2: retry/);
    assert.match(order3, /attempt 3: dead_letter/);
    assert.match(order3, /published order\.placed\.dlq/);
    assert.match(out, /email\s+ack=2\s+dead_letter=1\s+retry=2/);
    assert.match(out, /in flight\s+0/);
  });

  it('rejects bad flags with one clear line and exit code 2', () => {
    const run = spawnSync(process.execPath, [cli, 'demo', '--broker', 'nats'], { encoding: 'utf8' });
    assert.equal(run.status, 2);
    assert.equal(run.stderr.trim().split('\n').length, 1);
    assert.match(run.stderr, /--broker must be inproc, rabbitmq, kafka, bullmq, sqs or pubsub/);
  });

  it('parses the Pub/Sub flags', () => {
    const flags = parseDemoFlags(['--broker', 'pubsub'], { HOPTRACE_PUBSUB_EMULATOR_HOST: '127.0.0.1:9999' });
    assert.equal(flags.pubsubEmulator, '127.0.0.1:9999');
    assert.equal(flags.pubsubProject, 'hoptrace-demo');
    const real = parseDemoFlags(
      ['--broker', 'pubsub', '--pubsub-emulator', 'none', '--pubsub-project', 'p-1'],
      {},
    );
    assert.equal(real.pubsubEmulator, undefined);
    assert.equal(real.pubsubProject, 'p-1');
  });

  it('parses flags', () => {
    assert.equal(parseDemoFlags([]).broker, 'inproc');
    assert.equal(parseDemoFlags(['--orders', '7']).orders, 7);
    assert.throws(() => parseDemoFlags(['--orders', '0']), /--orders/);
    assert.throws(() => parseDemoFlags(['--metrics-port', 'x']), /--metrics-port/);
    assert.throws(() => parseDemoFlags(['--otlp', 'not a url']), /--otlp/);
    const bullmq = parseDemoFlags(['--broker', 'bullmq', '--redis-url', 'redis://10.0.0.1:6380'], {});
    assert.deepEqual([bullmq.broker, bullmq.redisUrl], ['bullmq', 'redis://10.0.0.1:6380']);
    assert.equal(parseDemoFlags(['--broker', 'bullmq'], {}).redisUrl, 'redis://127.0.0.1:36379');
    assert.throws(() => parseDemoFlags(['--redis-url', 'http://x'], {}), /--redis-url must be a redis/);
  });
});
