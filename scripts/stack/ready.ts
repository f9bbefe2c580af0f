/**
 * Readiness: a server is ready when a real client succeeds against it (amqplib connects, a kafkajs
 * admin lists topics, an HTTP readiness endpoint answers 200), polled until a deadline.
 */
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export class StackError extends Error {
  override readonly name = 'StackError';
  constructor(
    message: string,
    readonly server: string,
    readonly logFile?: string,
  ) {
    super(message);
  }
}

export interface WaitOptions {
  server: string;
  logFile: string;
  timeoutMs: number;
  /** Resolves when the spawned process exits; waiting then stops at once. */
  exited?: Promise<string>;
  intervalMs?: number;
}

export async function waitUntilReady(probe: () => Promise<unknown>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let exitedWith: string | undefined;
  options.exited?.then((code) => {
    exitedWith = code;
  });
  let lastError = 'no answer yet';
  while (true) {
    try {
      await probe();
      return;
    } catch (err) {
      lastError = (err as Error).message || String(err);
    }
    if (exitedWith !== undefined) {
      throw new StackError(
        `${options.server} exited (${exitedWith}) before it was ready; see ${options.logFile}`,
        options.server,
        options.logFile,
      );
    }
    if (Date.now() >= deadline) {
      throw new StackError(
        `${options.server} was not ready within ${Number((options.timeoutMs / 1000).toFixed(1))} s ` +
          `(last check: ${lastError}); see ${options.logFile}`,
        options.server,
        options.logFile,
      );
    }
    await sleep(options.intervalMs ?? 250);
  }
}

/** Resolves when GET `url` answers 2xx within `timeoutMs`; rejects with the status or network error. */
export async function httpOk(url: string, timeoutMs = 2000): Promise<string> {
  const { href, headers } = withBasicAuth(url);
  const response = await fetch(href, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const body = await response.text();
  if (!response.ok) throw new Error(`GET ${href} answered ${response.status}`);
  return body;
}

/** fetch() refuses URLs with credentials: move `user:pass@` into an Authorization header. */
export function withBasicAuth(url: string): { href: string; headers: Record<string, string> } {
  const parsed = new URL(url);
  if (!parsed.username) return { href: url, headers: {} };
  const token = Buffer.from(
    `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`,
  ).toString('base64');
  parsed.username = '';
  parsed.password = '';
  return { href: parsed.href, headers: { authorization: `Basic ${token}` } };
}

/** The last `lines` lines of a log file, for error output. */
export function logTail(path: string, lines = 25): string {
  if (!existsSync(path)) return `(no log at ${path})`;
  const text = readFileSync(path, 'utf8').trimEnd().split('\n');
  return text.slice(-lines).join('\n');
}
