/**
 * `npm run stack -- <up|down|status|env> [server...]`: the project's own RabbitMQ, Kafka, Prometheus,
 * Alertmanager, Redis, SQS/SNS emulator (moto), Pub/Sub fake (pstest) and Jaeger (when built) on
 * fixed loopback ports, plus Chromium for the browser tests, for the integration tests and for trying
 * hoptrace by hand. See docs/stack.md.
 */
import {
  isServerName,
  isToolName,
  loadStackConfig,
  logFile,
  SERVER_NAMES,
  type ServerName,
  stackEndpoints,
  TOOL_NAMES,
  type ToolName,
} from './stack/config.js';
import { down, installTools, status, strayProcesses, toolStatus, up } from './stack/control.js';
import { logTail, StackError } from './stack/ready.js';

const USAGE = `usage: npm run stack -- <command> [server...]

commands:
  up       install what is missing and start the servers (no-op for those already running)
  down     stop the servers (by PID file; nothing else is touched)
  status   show what runs, its PID and readiness
  env      print the HOPTRACE_* variables that point tests at this stack

servers: ${SERVER_NAMES.join(', ')} (default: all; jaeger only when built or HOPTRACE_JAEGER=build)
tools:   ${TOOL_NAMES.join(', ')} (installed by \`up\` when missing; nothing to start or stop)

environment:
  HOPTRACE_STACK_DIR          state, logs, PID files (default <repo>/.stack)
  HOPTRACE_CACHE_DIR          Kafka jars, moto's venv, the Go binaries (default ~/.cache/hoptrace)
  HOPTRACE_STACK_PORT_OFFSET  add this to every port (a second stack beside the default one)
  HOPTRACE_JAEGER             off | auto (default: start when built) | build (build when missing)`;

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text + ' '.repeat(width - text.length);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const unknown = rest.filter((name) => !isServerName(name) && !isToolName(name));
  if (unknown.length > 0) {
    process.stderr.write(
      `stack: unknown server ${unknown.join(', ')} (servers: ${[...SERVER_NAMES, ...TOOL_NAMES].join(', ')})\n`,
    );
    return 2;
  }
  const config = loadStackConfig();
  const explicit = rest.filter(isServerName);
  const explicitTools = rest.filter(isToolName);
  const all = rest.length === 0;
  const names: ServerName[] = all ? [...SERVER_NAMES] : explicit;
  const tools: ToolName[] = all ? [...TOOL_NAMES] : explicitTools;
  // Asking for jaeger by name means "build it if needed".
  if (explicit.includes('jaeger') && config.jaeger === 'auto') config.jaeger = 'build';

  switch (command) {
    case 'up': {
      const outcomes = names.length > 0 ? await up(config, names) : [];
      let failed = false;
      for (const outcome of outcomes) {
        const label = pad(outcome.server, 13);
        if (outcome.state === 'failed') {
          failed = true;
          process.stderr.write(`${label}FAILED: ${outcome.error.message}\n`);
          const log = outcome.error.logFile ?? logFile(config, outcome.server);
          process.stderr.write(`---- last lines of ${log}\n${logTail(log)}\n----\n`);
        } else if (outcome.state === 'served-elsewhere') {
          process.stdout.write(`${label}already served on its ports by a process that is not this stack's\n`);
        } else if (outcome.state === 'skipped') {
          process.stdout.write(`${label}skipped: ${outcome.reason}\n`);
        } else {
          const how = outcome.state === 'started' ? `started in ${seconds(outcome.ms)}` : 'already running';
          process.stdout.write(`${label}${how}\n`);
        }
      }
      for (const outcome of await installTools(config, tools)) {
        const label = pad(outcome.tool, 13);
        if (outcome.state === 'failed') {
          failed = true;
          process.stderr.write(`${label}FAILED: ${outcome.error.message}\n`);
        } else process.stdout.write(`${label}installed: ${outcome.path} (${outcome.version})\n`);
      }
      process.stdout.write(`stack dir: ${config.dir}\n`);
      return failed ? 1 : 0;
    }
    case 'down': {
      // Tools have no process: nothing to stop.
      for (const outcome of await down(config, names)) {
        process.stdout.write(`${pad(outcome.server, 13)}${outcome.stopped ? 'stopped' : 'not running'}\n`);
      }
      const strays = all ? strayProcesses(config) : [];
      for (const stray of strays)
        process.stderr.write(`stack: still running (pid ${stray.pid}): ${stray.command}\n`);
      return strays.length > 0 ? 1 : 0;
    }
    case 'status': {
      const rows = await status(config, names);
      for (const row of rows) {
        const state = row.running
          ? row.ready
            ? 'ready'
            : 'running, not ready'
          : row.elsewhere
            ? 'served elsewhere'
            : 'stopped';
        const pid = row.pid ? `pid ${row.pid}` : '';
        process.stdout.write(`${pad(row.server, 13)}${pad(state, 19)}${pad(pid, 12)}${row.detail}\n`);
      }
      for (const row of toolStatus(config, tools)) {
        const state = row.path ? 'installed' : 'missing';
        process.stdout.write(`${pad(row.tool, 13)}${pad(state, 19)}${pad('', 12)}${row.path ?? ''}\n`);
      }
      for (const stray of strayProcesses(config)) {
        process.stdout.write(`stray process of this stack (pid ${stray.pid}): ${stray.command}\n`);
      }
      process.stdout.write(`stack dir: ${config.dir}\n`);
      return 0;
    }
    case 'env': {
      for (const [key, value] of Object.entries(stackEndpoints(config)))
        process.stdout.write(`export ${key}=${value}\n`);
      return 0;
    }
    default:
      process.stderr.write(`stack: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `stack: ${err instanceof StackError ? err.message : ((err as Error).stack ?? String(err))}\n`,
    );
    process.exit(1);
  },
);
