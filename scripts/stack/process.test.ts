import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  findOwnedProcesses,
  isRunning,
  readPidFile,
  reapOwned,
  spawnDaemon,
  stopRecorded,
} from './process.js';

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hoptrace-process-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a spawned daemon is recorded, found by its owner marker, and stopped with its whole group', async (t) => {
  const dir = scratch(t);
  const pidFile = join(dir, 'run', 'sleeper.pid');
  // A shell with a child: stopping must take the child down too.
  const spawned = spawnDaemon({
    command: '/bin/sh',
    args: ['-c', 'sleep 60 & echo started; wait'],
    env: process.env,
    cwd: dir,
    logFile: join(dir, 'logs', 'sleeper.log'),
    pidFile,
    owner: dir,
    server: 'sleeper',
  });
  const record = readPidFile(pidFile);
  assert.equal(record?.pid, spawned.pid);
  assert.ok(record && record.startTime > 0);
  assert.equal(isRunning(record), true);
  await sleep(200);
  const owned = findOwnedProcesses(dir);
  assert.equal(owned.length, 2, JSON.stringify(owned));
  assert.ok(owned.every((p) => p.server === 'sleeper'));
  assert.match(readFileSync(join(dir, 'logs', 'sleeper.log'), 'utf8'), /started/);

  assert.equal(await stopRecorded(pidFile, 5000), true);
  assert.equal(existsSync(pidFile), false);
  assert.equal(isRunning(record), false);
  assert.deepEqual(findOwnedProcesses(dir), []);
  assert.equal(await stopRecorded(pidFile, 5000), false, 'a second stop finds nothing');
});

test('a PID file naming a recycled PID (other start time) is not taken for ours', (t) => {
  const dir = scratch(t);
  const pidFile = join(dir, 'other.pid');
  writeFileSync(pidFile, JSON.stringify({ pid: process.pid, startTime: 1, command: 'x' }));
  assert.equal(isRunning(readPidFile(pidFile)), false);
  writeFileSync(pidFile, 'garbage');
  assert.equal(readPidFile(pidFile), undefined);
});

test('reapOwned kills helpers of a server that left its process group', async (t) => {
  const dir = scratch(t);
  // setsid puts the sleeper in its own session, like erl_child_setup: the group stop cannot reach it.
  spawnDaemon({
    command: '/bin/sh',
    args: ['-c', 'setsid sleep 60 & wait'],
    env: process.env,
    cwd: dir,
    logFile: join(dir, 'x.log'),
    pidFile: join(dir, 'x.pid'),
    owner: dir,
    server: 'escaper',
  });
  await sleep(200);
  await stopRecorded(join(dir, 'x.pid'), 2000);
  const left = findOwnedProcesses(dir, 'escaper');
  assert.equal(left.length, 1, 'the setsid child outlives the group stop');
  const reaped = await reapOwned(dir, 'escaper', 300);
  assert.deepEqual(
    reaped.map((p) => p.pid),
    left.map((p) => p.pid),
  );
  await sleep(100);
  assert.deepEqual(findOwnedProcesses(dir), []);
});
