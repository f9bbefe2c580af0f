/**
 * The stack's own lifecycle, on a second stack beside the shared one (its own directory, every port
 * moved by an offset): `up` starts each server, a second `up` changes nothing, `status` reports them,
 * `down` leaves no process of that stack behind (RabbitMQ's epmd and Erlang helpers included). Redis,
 * moto and the Pub/Sub fake take a second or two together, so they ride along here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadStackConfig, pidFile } from '../../../scripts/stack/config.js';
import { findOwnedProcesses, readPidFile } from '../../../scripts/stack/process.js';

const stackScript = join(import.meta.dirname, '..', '..', '..', 'scripts', 'stack.js');
const SERVERS = ['rabbitmq', 'kafka', 'prometheus', 'alertmanager', 'redis', 'sqs', 'pubsub'] as const;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePort(true);
    });
    socket.once('error', () => resolvePort(false));
  });
}

const stackOff = ['off', '0', 'false'].includes((process.env.HOPTRACE_STACK ?? '').toLowerCase());

test('stack up twice is a no-op the second time, status reports it, down leaves nothing', {
  skip: stackOff && 'HOPTRACE_STACK=off',
  timeout: 300_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hoptrace-stack-cli-'));
  const env = {
    ...process.env,
    HOPTRACE_STACK_DIR: dir,
    HOPTRACE_STACK_PORT_OFFSET: '-12000',
    HOPTRACE_JAEGER: 'off',
  };
  const stack = (...args: string[]) => {
    const started = Date.now();
    const result = spawnSync(process.execPath, [stackScript, ...args], {
      env,
      encoding: 'utf8',
      timeout: 240_000,
    });
    return { ...result, ms: Date.now() - started };
  };
  t.after(() => {
    stack('down');
    rmSync(dir, { recursive: true, force: true });
  });
  const config = loadStackConfig(env);

  const first = stack('up', ...SERVERS);
  assert.equal(first.status, 0, first.stderr + first.stdout);
  for (const server of SERVERS) assert.match(first.stdout, new RegExp(`^${server} +started in `, 'm'));
  const pids = SERVERS.map((server) => readPidFile(pidFile(config, server))?.pid);
  assert.ok(
    pids.every((pid) => Number.isInteger(pid)),
    `PID files: ${pids}`,
  );

  const second = stack('up', ...SERVERS);
  assert.equal(second.status, 0, second.stderr);
  for (const server of SERVERS) assert.match(second.stdout, new RegExp(`^${server} +already running$`, 'm'));
  assert.deepEqual(
    SERVERS.map((server) => readPidFile(pidFile(config, server))?.pid),
    pids,
    'the second up started nothing new',
  );
  assert.ok(second.ms < 10_000, `second up took ${second.ms} ms`);

  const status = stack('status');
  assert.equal(status.status, 0);
  SERVERS.forEach((server, i) => {
    assert.match(status.stdout, new RegExp(`^${server} +ready +pid ${pids[i]} `, 'm'));
  });
  assert.match(status.stdout, /^jaeger +stopped/m);
  assert.doesNotMatch(status.stdout, /stray/);
  assert.ok(findOwnedProcesses(dir).length >= SERVERS.length + 1, 'servers and epmd run');
  assert.equal(await portOpen(config.ports.epmd), true);

  const down = stack('down');
  assert.equal(down.status, 0, down.stderr);
  for (const server of SERVERS) assert.match(down.stdout, new RegExp(`^${server} +stopped$`, 'm'));
  assert.deepEqual(findOwnedProcesses(dir), [], 'no process of this stack is left');
  const ports = [
    config.ports.amqp,
    config.ports.epmd,
    config.ports.kafka,
    config.ports.prometheus,
    config.ports.alertmanager,
    config.ports.redis,
    config.ports.sqs,
    config.ports.pubsub,
  ];
  for (const port of ports) assert.equal(await portOpen(port), false, `port ${port} is closed`);

  const again = stack('status');
  for (const server of SERVERS) assert.match(again.stdout, new RegExp(`^${server} +stopped`, 'm'));
});
