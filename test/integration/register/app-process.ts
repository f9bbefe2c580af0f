/**
 * Runs a fixture application as its own Node process (as a user would run it, e.g. with
 * `--import hoptrace/register`), reads the JSON lines it prints and writes commands to its stdin.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface AppLine {
  event: string;
  [key: string]: unknown;
}

export interface AppProcess {
  readonly lines: AppLine[];
  stderr(): string;
  /** Resolves with the first line (already printed or to come) that matches. */
  waitFor(match: (line: AppLine) => boolean, timeoutMs?: number, what?: string): Promise<AppLine>;
  send(command: string): void;
  /** Resolves with the exit code. */
  exited(timeoutMs?: number): Promise<number | null>;
  kill(): void;
}

/** dist/test/integration/register/fixtures/<name>.js */
export function fixture(name: string): string {
  return join(import.meta.dirname, 'fixtures', name);
}

export function startApp(args: string[], env: NodeJS.ProcessEnv): AppProcess {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: 'pipe',
  });
  const lines: AppLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  createInterface({ input: child.stdout }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as AppLine);
    } catch {
      stderr += `(stdout) ${text}\n`;
    }
    for (const wake of [...waiters]) wake();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    lines,
    stderr: () => stderr,
    waitFor(match, timeoutMs = 30_000, what = 'a line') {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(match);
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `waited ${timeoutMs} ms for ${what}; app printed:\n${JSON.stringify(lines)}\n${stderr}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    send(command) {
      child.stdin.write(`${command}\n`);
    },
    exited(timeoutMs = 30_000) {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      return exit.finally(() => clearTimeout(timer));
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}
