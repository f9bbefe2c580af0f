/**
 * Installing what a server needs when it is missing: Debian packages through apt-get (once per run,
 * with service auto-start suppressed so the distribution's own daemons do not start on default ports),
 * and helpers to run tools with their output captured in a log file.
 */
import { spawn } from 'node:child_process';
import { accessSync, appendFileSync, constants, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { StackError } from './ready.js';

export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Go, from PATH or where the official tarball puts it (/usr/local/go). */
export function findGo(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return (
    findExecutable('go', env) ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined)
  );
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Output goes here (appended); otherwise it is collected and returned. */
  logFile?: string;
  timeoutMs?: number;
}

/** Runs a command to completion; rejects with its output's tail when it fails. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolveRun, rejectRun) => {
    if (options.logFile) {
      mkdirSync(dirname(options.logFile), { recursive: true });
      appendFileSync(options.logFile, `\n$ ${command} ${args.join(' ')}\n`);
    }
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 1_000_000) output = output.slice(-500_000);
      if (options.logFile) appendFileSync(options.logFile, chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', rejectRun);
    child.once('close', (code, signal) => {
      if (code === 0) resolveRun(output);
      else {
        const tail = output.trimEnd().split('\n').slice(-15).join('\n');
        rejectRun(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`})\n${tail}`));
      }
    });
  });
}

export interface AptRequirement {
  /** Executable that proves the package is installed (or, with `present`, what is needed). */
  binary: string;
  aptPackage: string;
  /** Overrides the check for `binary` on PATH (e.g. a Python module rather than a program). */
  present?: () => boolean;
}

function isPresent(need: AptRequirement): boolean {
  return need.present ? need.present() : findExecutable(need.binary) !== undefined;
}

let aptUpdated = false;

/** Installs the Debian packages whose binaries are absent. Needs root; says what to run otherwise. */
export async function ensureAptPackages(
  server: string,
  needs: AptRequirement[],
  logFile: string,
): Promise<void> {
  const missing = needs.filter((need) => !isPresent(need));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((need) => need.aptPackage))];
  const command = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  if (process.getuid?.() !== 0 || !findExecutable('apt-get')) {
    throw new StackError(
      `${server} needs ${missing.map((m) => m.binary).join(', ')}: run \`${command}\` as root`,
      server,
    );
  }
  process.stderr.write(`stack: installing ${packages.join(', ')} with apt-get (log: ${logFile})\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await withServiceStartsSuppressed(async () => {
    // Another apt-get (another agent, unattended upgrades) may hold dpkg's lock: wait for it.
    const wait = ['-o', 'DPkg::Lock::Timeout=600'];
    if (!aptUpdated) {
      await run('apt-get', [...wait, 'update'], { env, logFile });
      aptUpdated = true;
    }
    await run('apt-get', [...wait, 'install', '-y', '--no-install-recommends', ...packages], {
      env,
      logFile,
    });
  }).catch((err: Error) => {
    throw new StackError(`${server}: \`${command}\` failed: ${err.message}; see ${logFile}`, server, logFile);
  });
  const stillMissing = missing.filter((need) => !isPresent(need));
  if (stillMissing.length > 0) {
    throw new StackError(
      `${server}: ${stillMissing.map((m) => m.binary).join(', ')} still missing after apt-get`,
      server,
    );
  }
}

const POLICY_RC = '/usr/sbin/policy-rc.d';

/**
 * Debian starts a package's service on install (rabbitmq-server, prometheus, alertmanager on their
 * default ports). The stack runs its own private instances, so a policy-rc.d that denies starts
 * (exit 101, the documented convention) is in place during the install, unless one already exists.
 */
async function withServiceStartsSuppressed<T>(action: () => Promise<T>): Promise<T> {
  if (existsSync(POLICY_RC)) return action();
  writeFileSync(POLICY_RC, '#!/bin/sh\n# written by hoptrace stack during apt-get install\nexit 101\n', {
    mode: 0o755,
  });
  try {
    return await action();
  } finally {
    rmSync(POLICY_RC, { force: true });
  }
}
