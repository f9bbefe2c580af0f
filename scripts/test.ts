/**
 * `npm test` after the build: runs every compiled `*.test.js` under dist/ with Node's built-in runner.
 * Node 20's `--test` takes no globs, so the files are listed here.
 *
 * Before the run it makes sure the real servers the integration tests use are reachable: a server
 * whose HOPTRACE_* variable the user set is theirs and left alone; one already answering on the
 * stack's ports is reused; anything else is started with the project's stack and stopped again
 * afterwards (only what this run started). Chromium (for the browser tests) is installed when missing
 * and passed on as HOPTRACE_CHROMIUM. With CI=true a server or Chromium that cannot be had fails the run.
 *
 *   node dist/scripts/test.js [--unit] [filter...]
 *   --unit             only tests outside test/integration/, no servers
 *   HOPTRACE_STACK=off start nothing (integration tests skip locally, fail in CI)
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import {
  loadStackConfig,
  SERVER_NAMES,
  SERVER_VARIABLES,
  type ServerName,
  type StackConfig,
  stackEndpoints,
} from './stack/config.js';
import { down, installTools, loadProbeClients, SERVERS, up } from './stack/control.js';
import { logTail } from './stack/ready.js';

const distRoot = join(import.meta.dirname, '..');

function findTests(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) findTests(path, out);
    else if (entry.endsWith('.test.js')) out.push(relative(process.cwd(), path));
  }
  return out;
}

function log(message: string): void {
  process.stderr.write(`test: ${message}\n`);
}

interface Prepared {
  env: NodeJS.ProcessEnv;
  started: ServerName[];
  failed: boolean;
}

/** Decides per server: the user's, already running, or started now. */
async function prepareServers(config: StackConfig): Promise<Prepared> {
  const endpoints = stackEndpoints(config);
  const env: NodeJS.ProcessEnv = { ...process.env };
  const toStart: ServerName[] = [];
  const userProvided: ServerName[] = [];
  await loadProbeClients(SERVER_NAMES);
  await Promise.all(
    SERVER_NAMES.map(async (name) => {
      if (SERVER_VARIABLES[name].some((variable) => process.env[variable])) {
        userProvided.push(name);
        return;
      }
      for (const variable of SERVER_VARIABLES[name]) env[variable] = endpoints[variable];
      const reachable = await SERVERS[name].probe(config).then(
        () => true,
        () => false,
      );
      if (!reachable) toStart.push(name);
    }),
  );
  if (userProvided.length > 0)
    log(`using your servers for ${userProvided.join(', ')} (HOPTRACE_* variables)`);
  const reused = SERVER_NAMES.filter((name) => !userProvided.includes(name) && !toStart.includes(name));
  if (reused.length > 0) log(`reusing running ${reused.join(', ')}`);

  const started: ServerName[] = [];
  let failed = false;
  toStart.sort((a, b) => SERVER_NAMES.indexOf(a) - SERVER_NAMES.indexOf(b));
  if (toStart.length > 0) {
    log(`starting ${toStart.join(', ')} (stack dir ${config.dir})`);
    for (const outcome of await up(config, toStart)) {
      if (outcome.state === 'started') {
        started.push(outcome.server);
        log(`${outcome.server} started in ${(outcome.ms / 1000).toFixed(1)} s`);
      } else if (outcome.state === 'already-running' || outcome.state === 'served-elsewhere') {
        log(`${outcome.server} is running`);
      } else if (outcome.state === 'skipped') {
        log(`${outcome.server} not started: ${outcome.reason}`);
        // Tests that need an optional server (Jaeger) skip when told it is off.
        if (outcome.server === 'jaeger') env.HOPTRACE_JAEGER = 'off';
      } else {
        log(`${outcome.server} could not start: ${outcome.error.message}`);
        process.stderr.write(`${logTail(outcome.error.logFile ?? '')}\n`);
        // Jaeger is optional: its tests skip when it is off, in CI too.
        if (outcome.server === 'jaeger' && config.jaeger !== 'build') env.HOPTRACE_JAEGER = 'off';
        else failed = true;
      }
    }
  }
  if (!(await prepareChromium(config, env))) failed = true;
  return { env, started, failed };
}

/** The user's HOPTRACE_CHROMIUM, else Debian's chromium, installed now when missing. */
async function prepareChromium(config: StackConfig, env: NodeJS.ProcessEnv): Promise<boolean> {
  const [outcome] = await installTools(config, ['chromium']);
  if (outcome.state === 'failed') {
    log(`chromium is not available: ${outcome.error.message}`);
    return false;
  }
  env.HOPTRACE_CHROMIUM = outcome.path;
  return true;
}

function runNodeTest(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolveRun) => {
    // --test-force-exit: a test file whose tests are done ends even if a failed test left a handle
    // open, so one leak fails that file instead of hanging the whole run (and CI) until its deadline.
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-force-exit', ...files], {
      stdio: 'inherit',
      env,
    });
    child.once('exit', (code, signal) => resolveRun(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const unitOnly = args.includes('--unit');
  const filters = args.filter((arg) => arg !== '--unit');
  const integrationDir = `${sep}integration${sep}`;
  const files = findTests(distRoot)
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .filter((f) => !unitOnly || !f.includes(integrationDir))
    .sort();
  if (files.length === 0) {
    log(`no test file matches ${filters.join(' ') || '(all)'}`);
    return 1;
  }

  const stackOff =
    unitOnly || ['off', '0', 'false'].includes((process.env.HOPTRACE_STACK ?? '').toLowerCase());
  if (stackOff) return runNodeTest(files, process.env);

  const config = loadStackConfig();
  const ci = process.env.CI === 'true';
  const prepared = await prepareServers(config);
  if (prepared.failed && ci) {
    await stopStarted(config, prepared.started);
    log('a server the integration tests need could not start (CI=true): failing the run');
    return 1;
  }
  if (prepared.failed) log('some servers are missing: their integration tests will skip');

  const stopOnSignal = (signal: NodeJS.Signals) => {
    stopStarted(config, prepared.started).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    return await runNodeTest(files, prepared.env);
  } finally {
    await stopStarted(config, prepared.started);
  }
}

async function stopStarted(config: StackConfig, started: ServerName[]): Promise<void> {
  if (started.length === 0) return;
  log(`stopping what this run started: ${started.join(', ')}`);
  await down(config, started);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log((err as Error).stack ?? String(err));
    process.exit(1);
  },
);
