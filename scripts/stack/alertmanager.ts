/**
 * Alertmanager (Debian package `prometheus-alertmanager`), clustering off. Alerts posted to it are
 * grouped and routed to a receiver that sends nothing: tests read them back through /api/v2/alerts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logFile, pidFile, type StackConfig } from './config.js';
import { ensureAptPackages, findExecutable } from './install.js';
import { isRunning, readPidFile, spawnDaemon, stopRecorded } from './process.js';
import { httpOk } from './ready.js';
import type { StackServer } from './server.js';

export function alertmanagerPaths(config: StackConfig) {
  const root = join(config.dir, 'alertmanager');
  return { root, configFile: join(root, 'alertmanager.yml'), dataDir: join(root, 'data') };
}

export const ALERTMANAGER_CONFIG = `# Written by \`npm run stack -- up\` on every start (see docs/stack.md).
route:
  receiver: discard
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: discard
`;

export const alertmanager: StackServer = {
  name: 'alertmanager',
  readyTimeoutMs: 30_000,
  ports: (config) => [config.ports.alertmanager],
  describe: (config) => `http://127.0.0.1:${config.ports.alertmanager}`,

  async install(config) {
    await ensureAptPackages(
      'alertmanager',
      [
        { binary: 'prometheus-alertmanager', aptPackage: 'prometheus-alertmanager' },
        { binary: 'amtool', aptPackage: 'prometheus-alertmanager' },
      ],
      logFile(config, 'alertmanager'),
    );
  },

  async start(config) {
    const paths = alertmanagerPaths(config);
    mkdirSync(paths.dataDir, { recursive: true });
    writeFileSync(paths.configFile, ALERTMANAGER_CONFIG);
    return spawnDaemon({
      command: findExecutable('prometheus-alertmanager') ?? 'prometheus-alertmanager',
      args: [
        `--config.file=${paths.configFile}`,
        `--storage.path=${paths.dataDir}`,
        `--web.listen-address=127.0.0.1:${config.ports.alertmanager}`,
        // Empty: no gossip cluster, so no extra port (9094 by default) is opened.
        '--cluster.listen-address=',
      ],
      env: config.env,
      cwd: paths.root,
      logFile: logFile(config, 'alertmanager'),
      pidFile: pidFile(config, 'alertmanager'),
      owner: config.dir,
      server: 'alertmanager',
    });
  },

  async probe(config) {
    await httpOk(`http://127.0.0.1:${config.ports.alertmanager}/-/ready`);
  },

  running: (config) => isRunning(readPidFile(pidFile(config, 'alertmanager'))),
  stop: (config) => stopRecorded(pidFile(config, 'alertmanager'), 15_000),
};
