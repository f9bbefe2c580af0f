/**
 * The collector as its own process (`hoptrace collector`), so tests can kill it, restart it on the same
 * port, and read its resident memory from /proc without the test's own heap in the number.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '..', '..', '..', 'cli', 'index.js');

export interface CollectorProcess {
  readonly url: string;
  readonly pid: number;
  /** stdout and stderr so far. */
  output(): string;
  /** Resident set size in bytes (VmRSS), or undefined once the process is gone. */
  rss(): number | undefined;
  /** Sends `signal` and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `hoptrace collector --port <port> ...args` and waits until /healthz answers 200. */
export function startCollectorProcess(port: number, args: string[] = []): Promise<CollectorProcess> {
  return spawnCollector(port, [CLI, 'collector', '--port', String(port), ...args]);
}

/** Starts a collector child with `startCollector(options)` (for options the CLI has no flag for). */
export function startCollectorWithOptions(
  port: number,
  options: Record<string, unknown>,
): Promise<CollectorProcess> {
  const script = join(import.meta.dirname, 'fixtures', 'collector-child.js');
  return spawnCollector(port, [script, JSON.stringify({ ...options, port })]);
}

async function spawnCollector(port: number, args: string[]): Promise<CollectorProcess> {
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the collector exited: ${output}`);
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the collector did not become healthy: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = child.pid as number;
  return {
    url,
    pid,
    output: () => output,
    rss() {
      try {
        const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return match ? Number(match[1]) * 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
