/**
 * Headless Chromium for the UI's browser tests: Debian's `chromium` package, which the tests drive
 * with playwright-core (`executablePath`). Not a server: the stack only installs it and says where it
 * is (HOPTRACE_CHROMIUM); each test launches its own browser.
 */
import { CHROMIUM_PATH, logFile, type StackConfig } from './config.js';
import { ensureAptPackages, findExecutable, run } from './install.js';

/** The browser at `HOPTRACE_CHROMIUM` when set (the user's), else Debian's, else `chromium` on PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.HOPTRACE_CHROMIUM) return findExecutable(env.HOPTRACE_CHROMIUM);
  return findExecutable(CHROMIUM_PATH) ?? findExecutable('chromium', env);
}

/** Installs Debian's chromium when missing; resolves with its path and version line. */
export async function ensureChromium(config: StackConfig): Promise<{ path: string; version: string }> {
  if (!findChromium(config.env)) {
    if (config.env.HOPTRACE_CHROMIUM) {
      throw new Error(`HOPTRACE_CHROMIUM=${config.env.HOPTRACE_CHROMIUM} is not an executable`);
    }
    await ensureAptPackages(
      'chromium',
      [{ binary: 'chromium', aptPackage: 'chromium' }],
      logFile(config, 'chromium'),
    );
  }
  const path = findChromium(config.env);
  if (!path) throw new Error('chromium is still missing after apt-get');
  return { path, version: await chromiumVersion(path) };
}

/** `chromium --version`: proves the binary runs here (shared libraries present), not just exists. */
export async function chromiumVersion(path: string): Promise<string> {
  const output = await run(path, ['--version'], { timeoutMs: 30_000 });
  // Debian's wrapper script may print a shell warning before the version line.
  const lines = output.trim().split('\n');
  return (lines.find((line) => /^Chromium /.test(line)) ?? lines[lines.length - 1]).trim();
}
