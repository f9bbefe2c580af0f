/**
 * Background processes owned by the stack: spawned in their own process group, recorded in a PID
 * file (pid + kernel start time, so a recycled PID is never mistaken for ours), stopped by that PID's
 * group only. Every process carries HOPTRACE_STACK_OWNER=<stack dir> and HOPTRACE_STACK_SERVER=<name> in
 * its environment, and its descendants inherit both: helpers that leave the process group (Erlang's
 * erl_child_setup calls setsid) are still found, by exact owner, and stopped by their PIDs.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const OWNER_VARIABLE = 'HOPTRACE_STACK_OWNER';
export const SERVER_VARIABLE = 'HOPTRACE_STACK_SERVER';

export interface PidRecord {
  pid: number;
  /** Kernel start time (clock ticks since boot) from /proc/PID/stat; guards against PID reuse. */
  startTime: number;
  command: string;
}

export interface SpawnedProcess {
  pid: number;
  /** Resolves with the exit code (or signal name) if the process ends while this script runs. */
  exited: Promise<string>;
}

export interface SpawnOptions {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
  pidFile: string;
  /** The stack directory, recorded in the child's environment as its owner. */
  owner: string;
  /** The server it belongs to (epmd belongs to rabbitmq). */
  server: string;
}

export function spawnDaemon(options: SpawnOptions): SpawnedProcess {
  mkdirSync(dirname(options.logFile), { recursive: true });
  mkdirSync(dirname(options.pidFile), { recursive: true });
  const log = openSync(options.logFile, 'a');
  try {
    writeFileSync(log, `\n==== ${new Date().toISOString()} ${options.command} ${options.args.join(' ')}\n`);
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: { ...options.env, [OWNER_VARIABLE]: options.owner, [SERVER_VARIABLE]: options.server },
      detached: true,
      stdio: ['ignore', log, log],
    });
    const exited = new Promise<string>((resolveExit) => {
      child.once('exit', (code, signal) => resolveExit(signal ?? String(code)));
      child.once('error', (err) => resolveExit(err.message));
    });
    if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
    child.unref();
    const record: PidRecord = {
      pid: child.pid,
      startTime: processStartTime(child.pid) ?? 0,
      command: [options.command, ...options.args].join(' '),
    };
    writeFileSync(options.pidFile, `${JSON.stringify(record)}\n`);
    return { pid: child.pid, exited };
  } finally {
    closeSync(log);
  }
}

/** Field 22 of /proc/PID/stat; undefined when the process does not exist. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

export function readPidFile(path: string): PidRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as PidRecord;
    return Number.isInteger(record.pid) && record.pid > 1 ? record : undefined;
  } catch {
    return undefined;
  }
}

/** True when the recorded process still runs and is the same process (same start time). */
export function isRunning(record: PidRecord | undefined): record is PidRecord {
  if (!record) return false;
  const startTime = processStartTime(record.pid);
  if (startTime === undefined) return false;
  if (record.startTime !== 0 && startTime !== record.startTime) return false;
  // A zombie left by an exited child still has /proc/PID/stat; it is not running.
  return !isZombie(record.pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids whose process group is `pgid` (field 5 of /proc/PID/stat), zombies excluded. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return members;
}

/**
 * Stops the process recorded in `pidFile` and everything in its process group: `signal` first, then
 * SIGKILL after `graceMs`. Removes the PID file. Returns false when nothing of ours was running.
 */
export async function stopRecorded(
  pidFile: string,
  graceMs: number,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<boolean> {
  const record = readPidFile(pidFile);
  if (!isRunning(record)) {
    rmSync(pidFile, { force: true });
    return false;
  }
  await stopGroup(record.pid, graceMs, signal);
  rmSync(pidFile, { force: true });
  return true;
}

export async function stopGroup(
  pgid: number,
  graceMs: number,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  signalGroup(pgid, signal);
  if (await waitForGroupExit(pgid, graceMs)) return;
  signalGroup(pgid, 'SIGKILL');
  await waitForGroupExit(pgid, 5000);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid) || groupMembers(pgid).length === 0) return true;
    await sleep(100);
  }
  return false;
}

export interface OwnedProcess {
  pid: number;
  server: string;
  command: string;
}

/**
 * Every live process whose environment names `owner` as its stack (and `server`, when given): what
 * `down` must leave at zero.
 */
export function findOwnedProcesses(owner: string, server?: string): OwnedProcess[] {
  const ownerEntry = `${OWNER_VARIABLE}=${owner}`;
  const found: OwnedProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (!environ.includes(ownerEntry) || isZombie(Number(entry))) continue;
      const serverEntry = environ.find((e) => e.startsWith(`${SERVER_VARIABLE}=`));
      const owningServer = serverEntry ? serverEntry.slice(SERVER_VARIABLE.length + 1) : '';
      if (server !== undefined && owningServer !== server) continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid: Number(entry), server: owningServer, command });
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

/**
 * After a server's main process is stopped, its helpers normally exit on their own within a moment
 * (their pipe to the parent closes). Whatever of this server still runs after `graceMs` is killed by
 * PID. Returns what had to be killed.
 */
export async function reapOwned(owner: string, server: string, graceMs = 5000): Promise<OwnedProcess[]> {
  const deadline = Date.now() + graceMs;
  let left = findOwnedProcesses(owner, server);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(100);
    left = findOwnedProcesses(owner, server);
  }
  for (const proc of left) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }
  return left;
}
