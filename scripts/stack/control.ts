/**
 * The stack controller: `up`, `down` and `status` over the selected servers. `up` is idempotent (a
 * server whose PID file names a live, ready process is left alone), installs what is missing one
 * server at a time, then starts the rest in parallel and waits for each with a real client.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { alertmanager } from './alertmanager.js';
import { ensureChromium, findChromium } from './chromium.js';
import {
  isServerName,
  logFile,
  pidFile,
  SERVER_NAMES,
  type ServerName,
  type StackConfig,
  type ToolName,
} from './config.js';
import { jaeger } from './jaeger.js';
import { kafka } from './kafka.js';
import { findOwnedProcesses, isRunning, type OwnedProcess, readPidFile, reapOwned } from './process.js';
import { prometheus } from './prometheus.js';
import { pubsub } from './pubsub.js';
import { rabbitmq } from './rabbitmq.js';
import { StackError, waitUntilReady } from './ready.js';
import { redis } from './redis.js';
import type { StackServer } from './server.js';
import { sqs } from './sqs.js';

export const SERVERS: Record<ServerName, StackServer> = {
  rabbitmq,
  kafka,
  prometheus,
  alertmanager,
  redis,
  sqs,
  pubsub,
  jaeger,
};

/** Loads the probes' client libraries one at a time, so probes run side by side afterwards time fairly. */
export async function loadProbeClients(names: readonly ServerName[]): Promise<void> {
  for (const name of names) await SERVERS[name].loadClient?.().catch(() => {});
}

export type UpOutcome =
  | { server: ServerName; state: 'started'; ms: number }
  | { server: ServerName; state: 'already-running'; ms: number }
  /** Its ports answer, but not for a process of this stack (another worktree's stack, your own server). */
  | { server: ServerName; state: 'served-elsewhere' }
  | { server: ServerName; state: 'skipped'; reason: string }
  | { server: ServerName; state: 'failed'; error: StackError };

export async function up(
  config: StackConfig,
  names: readonly ServerName[] = SERVER_NAMES,
): Promise<UpOutcome[]> {
  return withLock(config, async () => {
    await loadProbeClients(names);
    const outcomes = new Map<ServerName, UpOutcome>();
    const toStart: ServerName[] = [];
    for (const name of names) {
      const server = SERVERS[name];
      const reason = server.unavailable?.(config);
      if (reason) {
        outcomes.set(name, { server: name, state: 'skipped', reason });
        continue;
      }
      if (server.running(config)) {
        const started = Date.now();
        try {
          // Ours and alive: it may still be starting (another `up` a moment ago), so wait for it.
          await waitUntilReady(() => server.probe(config), {
            server: name,
            logFile: logFile(config, name),
            timeoutMs: server.readyTimeoutMs,
          });
          outcomes.set(name, { server: name, state: 'already-running', ms: Date.now() - started });
        } catch (err) {
          outcomes.set(name, { server: name, state: 'failed', error: asStackError(err, name) });
        }
        continue;
      }
      const busy = await busyPorts(server.ports(config));
      if (
        busy.length > 0 &&
        (await server.probe(config).then(
          () => true,
          () => false,
        ))
      ) {
        outcomes.set(name, { server: name, state: 'served-elsewhere' });
        continue;
      }
      toStart.push(name);
    }
    // Installs run one at a time (apt-get holds a lock; Maven, pip and Go are heavy on two cores), in
    // SERVER_NAMES order so the Go builds come last; each server starts as soon as its own install is
    // done, so the others are up while Jaeger still builds.
    let installQueue = Promise.resolve();
    const ordered = SERVER_NAMES.filter((name) => toStart.includes(name));
    await Promise.all(
      ordered.map(async (name) => {
        const installed = installQueue.then(() => prepareOne(config, name));
        installQueue = installed.then(
          () => {},
          () => {},
        );
        try {
          await installed;
        } catch (err) {
          outcomes.set(name, { server: name, state: 'failed', error: asStackError(err, name) });
          return;
        }
        outcomes.set(name, await startOne(config, SERVERS[name]));
      }),
    );
    return names.map((name) => outcomes.get(name)!);
  });
}

/** Refuses ports held by someone else, then installs what the server is missing. */
async function prepareOne(config: StackConfig, name: ServerName): Promise<void> {
  const busy = await busyPorts(SERVERS[name].ports(config));
  if (busy.length > 0) {
    throw new StackError(
      `${name}: port ${busy.join(', ')} is in use by a process that is not this stack's ` +
        `(${config.dir}); stop it, or point the stack elsewhere with HOPTRACE_STACK_PORT_OFFSET`,
      name,
    );
  }
  await SERVERS[name].install(config);
}

async function startOne(config: StackConfig, server: StackServer): Promise<UpOutcome> {
  const started = Date.now();
  try {
    const spawned = await server.start(config);
    await waitUntilReady(() => server.probe(config), {
      server: server.name,
      logFile: logFile(config, server.name),
      timeoutMs: server.readyTimeoutMs,
      exited: spawned.exited,
    });
    return { server: server.name, state: 'started', ms: Date.now() - started };
  } catch (err) {
    // Never leave a half-started server behind: it would hold ports and confuse the next `up`.
    await server.stop(config).catch(() => {});
    await reapOwned(config.dir, server.name);
    return { server: server.name, state: 'failed', error: asStackError(err, server.name) };
  }
}

export type ToolOutcome =
  | { tool: ToolName; state: 'installed'; path: string; version: string }
  | { tool: ToolName; state: 'failed'; error: StackError };

/** Installs the tools that are missing (under the stack lock: apt-get runs one at a time). */
export async function installTools(config: StackConfig, tools: readonly ToolName[]): Promise<ToolOutcome[]> {
  if (tools.length === 0) return [];
  return withLock(config, async () => {
    const outcomes: ToolOutcome[] = [];
    for (const tool of tools) {
      try {
        outcomes.push({ tool, state: 'installed', ...(await ensureChromium(config)) });
      } catch (err) {
        const error = new StackError(`${tool}: ${(err as Error).message}`, tool, logFile(config, tool));
        outcomes.push({ tool, state: 'failed', error });
      }
    }
    return outcomes;
  });
}

/** Where each tool is, without installing anything. */
export function toolStatus(config: StackConfig, tools: readonly ToolName[]) {
  return tools.map((tool) => ({ tool, path: findChromium(config.env) }));
}

export interface DownOutcome {
  server: ServerName;
  stopped: boolean;
}

export async function down(
  config: StackConfig,
  names: readonly ServerName[] = SERVER_NAMES,
): Promise<DownOutcome[]> {
  return withLock(config, () =>
    Promise.all(
      names.map(async (name) => {
        const stopped = await SERVERS[name].stop(config);
        const reaped = await reapOwned(config.dir, name);
        return { server: name, stopped: stopped || reaped.length > 0 };
      }),
    ),
  );
}

export interface ServerStatus {
  server: ServerName;
  pid?: number;
  running: boolean;
  ready: boolean;
  /** Not this stack's process, but its ports answer like the server (another stack, a hand-started one). */
  elsewhere: boolean;
  detail: string;
}

export async function status(
  config: StackConfig,
  names: readonly ServerName[] = SERVER_NAMES,
): Promise<ServerStatus[]> {
  await loadProbeClients(names);
  return Promise.all(
    names.map(async (name): Promise<ServerStatus> => {
      const server = SERVERS[name];
      const record = readPidFile(pidFile(config, name));
      const running = isRunning(record);
      let ready = false;
      let elsewhere = false;
      if (running)
        ready = await server.probe(config).then(
          () => true,
          () => false,
        );
      else if ((await busyPorts(server.ports(config))).length > 0)
        elsewhere = await server.probe(config).then(
          () => true,
          () => false,
        );
      const detail =
        running || elsewhere ? server.describe(config) : (server.unavailable?.(config) ?? 'stopped');
      return { server: name, pid: running ? record.pid : undefined, running, ready, elsewhere, detail };
    }),
  );
}

/** Processes of this stack whose server is not running (left behind; `down` removes them). */
export function strayProcesses(config: StackConfig): OwnedProcess[] {
  return findOwnedProcesses(config.dir).filter(
    (proc) => !(isServerName(proc.server) && SERVERS[proc.server].running(config)),
  );
}

function asStackError(err: unknown, server: ServerName): StackError {
  if (err instanceof StackError) return err;
  return new StackError(`${server}: ${(err as Error).message ?? String(err)}`, server);
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolvePort(true);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolvePort(true);
    });
    socket.once('error', () => resolvePort(false));
  });
}

async function busyPorts(ports: number[]): Promise<number[]> {
  const inUse = await Promise.all(ports.map(portInUse));
  return ports.filter((_, i) => inUse[i]);
}

/**
 * One controller at a time per stack directory (two `npm test` runs in one worktree would otherwise
 * race to start the same servers). A lock left by a dead process is taken over.
 */
async function withLock<T>(config: StackConfig, action: () => Promise<T>): Promise<T> {
  const runDir = join(config.dir, 'run');
  mkdirSync(runDir, { recursive: true });
  const lock = join(runDir, 'stack.lock');
  const deadline = Date.now() + 10 * 60_000;
  while (true) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      const holder = Number(readFileSafe(lock));
      if (!Number.isInteger(holder) || holder <= 0 || !pidAlive(holder)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new StackError(`stack: ${lock} held by process ${holder}`, 'stack');
      await sleep(200);
    }
  }
  try {
    return await action();
  } finally {
    rmSync(lock, { force: true });
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
