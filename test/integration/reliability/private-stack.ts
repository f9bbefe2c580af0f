/**
 * Private servers for fault injection: the project's own stack code, run in a temporary directory with
 * every port moved by an offset, so a test can stop and restart its broker without touching the shared
 * stack other tests (and other worktrees) use. Everything it starts is stopped by PID at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadStackConfig,
  logFile,
  pidFile,
  type ServerName,
  type StackConfig,
  stackEndpoints,
} from '../../../scripts/stack/config.js';
import { down, up } from '../../../scripts/stack/control.js';
import { findOwnedProcesses, reapOwned, stopRecorded } from '../../../scripts/stack/process.js';
import { logTail } from '../../../scripts/stack/ready.js';

export interface PrivateStack {
  readonly config: StackConfig;
  /** HOPTRACE_* endpoint values of this stack (AMQP URL, Kafka brokers, ...). */
  readonly endpoints: Record<string, string>;
  /** Starts (or restarts) a server and waits until it is ready; returns how long that took. */
  start(server: ServerName): Promise<number>;
  /** Stops a server cleanly (RabbitMQ: `rabbitmqctl stop`; Kafka: SIGTERM, controlled shutdown). */
  stop(server: ServerName): Promise<number>;
  /** Kills a server with SIGKILL, no shutdown at all (a crash, or the machine losing power). */
  kill(server: ServerName): Promise<number>;
  /** Stops everything and deletes the directory; afterwards no process of this stack is left. */
  destroy(): Promise<void>;
}

/** `env`: more stack settings, e.g. `HOPTRACE_KAFKA_SASL_PORT` for a SASL listener. */
export function createPrivateStack(
  name: string,
  portOffset: number,
  env: NodeJS.ProcessEnv = {},
): PrivateStack {
  const dir = mkdtempSync(join(tmpdir(), `hoptrace-${name}-`));
  const config = loadStackConfig({
    ...process.env,
    HOPTRACE_STACK_DIR: dir,
    HOPTRACE_STACK_PORT_OFFSET: String(portOffset),
    HOPTRACE_JAEGER: 'off',
    ...env,
  });
  return {
    config,
    endpoints: stackEndpoints(config),
    async start(server) {
      const started = Date.now();
      // One retry: on a loaded two-core machine a node occasionally gives up while booting.
      for (let attempt = 1; ; attempt++) {
        const [outcome] = await up(config, [server]);
        if (outcome?.state === 'started' || outcome?.state === 'already-running') return Date.now() - started;
        const reason =
          outcome?.state === 'failed'
            ? outcome.error.message
            : outcome?.state === 'skipped'
              ? outcome.reason
              : outcome?.state;
        const tail = logTail(logFile(config, server), 30);
        if (attempt >= 2) throw new Error(`private ${server} did not start: ${reason}\n${tail}`);
        process.stderr.write(`private ${server} did not start (${reason}); retrying once\n${tail}\n`);
      }
    },
    async stop(server) {
      const started = Date.now();
      await down(config, [server]);
      return Date.now() - started;
    },
    async kill(server) {
      const started = Date.now();
      await stopRecorded(pidFile(config, server), 0, 'SIGKILL');
      await reapOwned(dir, server, 0);
      return Date.now() - started;
    },
    async destroy() {
      await down(config, ['rabbitmq', 'kafka']);
      const left = findOwnedProcesses(dir);
      rmSync(dir, { recursive: true, force: true });
      if (left.length > 0) throw new Error(`processes of ${dir} left: ${left.map((p) => p.pid).join(', ')}`);
    },
  };
}
