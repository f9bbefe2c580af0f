/**
 * Command-line tools the static checks run (promtool, amtool) and the repository root the compiled
 * tests read committed files from.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { stackRequired } from './env.js';

/** The repository root, from a compiled file anywhere under dist/. */
export function repoRoot(): string {
  return join(import.meta.dirname, '..', '..', '..');
}

export interface ToolRun {
  status: number | null;
  stdout: string;
  /** stdout and stderr together, as a reader wants them in a failure message. */
  output: string;
}

/** Runs a tool, by default in the repository root. */
export function runTool(tool: string, args: string[], cwd: string = repoRoot()): ToolRun {
  const result = spawnSync(tool, args, { cwd, encoding: 'utf8' });
  if (result.error) return { status: null, stdout: '', output: result.error.message };
  return { status: result.status, stdout: result.stdout, output: `${result.stdout}${result.stderr}` };
}

/**
 * The tool's path (`HOPTRACE_<NAME>` or the name on PATH) when it runs; otherwise fails the test in
 * CI and skips it elsewhere, like `requireServer`. Returns undefined when the caller should return.
 */
export function requireTool(t: TestContext, name: string): string | undefined {
  const tool = process.env[`HOPTRACE_${name.toUpperCase()}`] || name;
  const probe = runTool(tool, ['--version']);
  if (probe.status === 0) return tool;
  const reason = `${name} is not available (${probe.output.trim().split('\n')[0]}); install it with \`npm run stack -- up\` or set HOPTRACE_${name.toUpperCase()}`;
  if (stackRequired()) throw new Error(reason);
  t.skip(reason);
  return undefined;
}
