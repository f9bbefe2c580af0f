/**
 * RabbitMQ (Debian `rabbitmq-server`) as a private node: its own HOME (Erlang cookie), data, config,
 * plugins file, node name and ports, and its own epmd on a non-default port (ERL_EPMD_PORT) that the
 * stack starts in the foreground so it can be stopped by PID like everything else. The node is run
 * through /usr/lib/rabbitmq/bin directly, because /usr/sbin/rabbitmq-server switches to the rabbitmq
 * user, which could not write to the stack directory.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { logFile, pidFile, type StackConfig } from './config.js';
import { ensureAptPackages, findExecutable, run } from './install.js';
import { isRunning, readPidFile, spawnDaemon, stopRecorded } from './process.js';
import { httpOk, waitUntilReady } from './ready.js';
import type { StackServer } from './server.js';

const RABBITMQ_BIN = '/usr/lib/rabbitmq/bin';

function paths(config: StackConfig) {
  const root = join(config.dir, 'rabbitmq');
  return {
    root,
    home: join(root, 'home'),
    mnesia: join(root, 'mnesia'),
    configFile: join(root, 'rabbitmq.conf'),
    envFile: join(root, 'rabbitmq-env.conf'),
    pluginsFile: join(root, 'enabled_plugins'),
    logDir: join(config.dir, 'logs', 'rabbitmq'),
    nodePidFile: join(config.dir, 'run', 'rabbitmq-node.pid'),
  };
}

/** The environment both the node and rabbitmqctl need to find each other. */
function rabbitEnv(config: StackConfig): NodeJS.ProcessEnv {
  const p = paths(config);
  return {
    ...config.env,
    HOME: p.home,
    ERL_EPMD_PORT: String(config.ports.epmd),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_NODENAME: config.rabbitmqNode,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(config.ports.amqp),
    RABBITMQ_DIST_PORT: String(config.ports.rabbitmqDist),
    RABBITMQ_MNESIA_BASE: p.mnesia,
    RABBITMQ_LOG_BASE: p.logDir,
    RABBITMQ_CONFIG_FILE: p.configFile,
    RABBITMQ_CONF_ENV_FILE: p.envFile,
    RABBITMQ_ENABLED_PLUGINS_FILE: p.pluginsFile,
    RABBITMQ_PID_FILE: p.nodePidFile,
  };
}

function rabbitmqConf(config: StackConfig): string {
  return `# Written by \`npm run stack -- up\` on every start (see docs/stack.md).
listeners.tcp.default = 127.0.0.1:${config.ports.amqp}
management.tcp.ip = 127.0.0.1
management.tcp.port = ${config.ports.rabbitmqManagement}
prometheus.tcp.ip = 127.0.0.1
prometheus.tcp.port = ${config.ports.rabbitmqPrometheus}
# Queue stats in the management API refresh every second instead of every 5 s: tests read them.
collect_statistics_interval = 1000
log.console = true
log.console.level = info
log.file = false
`;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePort(true);
    });
    socket.once('error', () => resolvePort(false));
  });
}

async function startEpmd(config: StackConfig): Promise<void> {
  const epmdPid = pidFile(config, 'epmd');
  if (isRunning(readPidFile(epmdPid))) return;
  const epmd = findExecutable('epmd') ?? '/usr/bin/epmd';
  const spawned = spawnDaemon({
    command: epmd,
    // No -daemon: epmd stays in the foreground, in our process group, with a PID we record.
    args: ['-port', String(config.ports.epmd), '-address', '127.0.0.1'],
    env: config.env,
    cwd: config.dir,
    logFile: logFile(config, 'rabbitmq'),
    pidFile: epmdPid,
    owner: config.dir,
    server: 'rabbitmq',
  });
  await waitUntilReady(
    async () => {
      if (!(await portOpen(config.ports.epmd))) throw new Error(`epmd not listening on ${config.ports.epmd}`);
    },
    {
      server: 'rabbitmq (epmd)',
      logFile: logFile(config, 'rabbitmq'),
      timeoutMs: 10_000,
      exited: spawned.exited,
    },
  );
}

export const rabbitmq: StackServer = {
  name: 'rabbitmq',
  readyTimeoutMs: 90_000,
  ports: (config) => [
    config.ports.amqp,
    config.ports.rabbitmqManagement,
    config.ports.rabbitmqPrometheus,
    config.ports.rabbitmqDist,
  ],
  describe: (config) =>
    `amqp://127.0.0.1:${config.ports.amqp}, management http://127.0.0.1:${config.ports.rabbitmqManagement} ` +
    `(guest/guest), metrics http://127.0.0.1:${config.ports.rabbitmqPrometheus}/metrics, node ${config.rabbitmqNode}`,

  async install(config) {
    await ensureAptPackages(
      'rabbitmq',
      [
        { binary: join(RABBITMQ_BIN, 'rabbitmq-server'), aptPackage: 'rabbitmq-server' },
        { binary: 'epmd', aptPackage: 'erlang-base' },
      ],
      logFile(config, 'rabbitmq'),
    );
  },

  async start(config) {
    const p = paths(config);
    for (const dir of [p.home, p.mnesia, p.logDir]) mkdirSync(dir, { recursive: true });
    writeFileSync(p.configFile, rabbitmqConf(config));
    if (!existsSync(p.envFile)) writeFileSync(p.envFile, '');
    writeFileSync(p.pluginsFile, '[rabbitmq_management,rabbitmq_prometheus].\n');
    await startEpmd(config);
    return spawnDaemon({
      command: join(RABBITMQ_BIN, 'rabbitmq-server'),
      args: [],
      env: rabbitEnv(config),
      cwd: p.root,
      logFile: logFile(config, 'rabbitmq'),
      pidFile: pidFile(config, 'rabbitmq'),
      owner: config.dir,
      server: 'rabbitmq',
    });
  },

  loadClient: () => import('amqplib'),

  async probe(config) {
    const amqplib = await import('amqplib');
    const connection = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${config.ports.amqp}`, {
      timeout: 2000,
    });
    await connection.close();
    // The management plugin starts after the AMQP listener; tests use both.
    await httpOk(`http://guest:guest@127.0.0.1:${config.ports.rabbitmqManagement}/api/overview`);
  },

  running: (config) => isRunning(readPidFile(pidFile(config, 'rabbitmq'))),

  async stop(config) {
    const p = paths(config);
    const nodeWasRunning = isRunning(readPidFile(pidFile(config, 'rabbitmq')));
    if (nodeWasRunning) {
      // A clean stop lets the node flush its state; the PID-group stop below catches whatever remains.
      const ctl = join(RABBITMQ_BIN, 'rabbitmqctl');
      await run(ctl, ['-n', config.rabbitmqNode, 'stop', p.nodePidFile], {
        env: rabbitEnv(config),
        logFile: logFile(config, 'rabbitmq'),
        timeoutMs: 60_000,
      }).catch((err: Error) => {
        process.stderr.write(
          `stack: rabbitmqctl stop failed (${err.message.split('\n')[0]}); stopping by PID\n`,
        );
      });
    }
    const node = await stopRecorded(pidFile(config, 'rabbitmq'), 20_000);
    const epmd = await stopRecorded(pidFile(config, 'epmd'), 5_000);
    return nodeWasRunning || node || epmd;
  },
};
