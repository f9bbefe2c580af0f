/**
 * Prometheus (Debian package) with exemplar storage. The stack owns prometheus.yml; tests extend it
 * without editing it: scrape targets go in `targets/*.json` (file_sd, picked up within a second), rule
 * files in `rules/*.yml` (loaded on POST /-/reload, enabled by --web.enable-lifecycle).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logFile, pidFile, prometheusPaths, type StackConfig } from './config.js';
import { ensureAptPackages, findExecutable } from './install.js';
import { isRunning, readPidFile, spawnDaemon, stopRecorded } from './process.js';
import { httpOk } from './ready.js';
import type { StackServer } from './server.js';

export function prometheusConfig(config: StackConfig): string {
  const paths = prometheusPaths(config);
  return `# Written by \`npm run stack -- up\` on every start; do not edit (see docs/stack.md).
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s

rule_files:
  - ${join(paths.rulesDir, '*.yml')}

alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:${config.ports.alertmanager}']

scrape_configs:
  # Targets registered by tests: one JSON file per test in targets/, removed when it ends.
  - job_name: hoptrace-test
    file_sd_configs:
      - files: ['${join(paths.targetsDir, '*.json')}']
        refresh_interval: 1s
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:${config.ports.prometheus}']
`;
}

export const prometheus: StackServer = {
  name: 'prometheus',
  readyTimeoutMs: 30_000,
  ports: (config) => [config.ports.prometheus],
  describe: (config) =>
    `http://127.0.0.1:${config.ports.prometheus} (targets: ${prometheusPaths(config).targetsDir})`,

  async install(config) {
    await ensureAptPackages(
      'prometheus',
      [
        { binary: 'prometheus', aptPackage: 'prometheus' },
        { binary: 'promtool', aptPackage: 'prometheus' },
      ],
      logFile(config, 'prometheus'),
    );
  },

  async start(config) {
    const paths = prometheusPaths(config);
    for (const dir of [paths.targetsDir, paths.rulesDir, paths.dataDir]) mkdirSync(dir, { recursive: true });
    writeFileSync(paths.configFile, prometheusConfig(config));
    return spawnDaemon({
      command: findExecutable('prometheus') ?? 'prometheus',
      args: [
        `--config.file=${paths.configFile}`,
        `--storage.tsdb.path=${paths.dataDir}`,
        '--storage.tsdb.retention.time=2d',
        `--web.listen-address=127.0.0.1:${config.ports.prometheus}`,
        '--web.enable-lifecycle',
        // Alerts are re-sent every 2 s instead of every minute: one that fired while the notifier was
        // re-reading its config after a reload (and so was dropped) reaches Alertmanager quickly.
        '--rules.alert.resend-delay=2s',
        '--enable-feature=exemplar-storage',
      ],
      env: config.env,
      cwd: paths.root,
      logFile: logFile(config, 'prometheus'),
      pidFile: pidFile(config, 'prometheus'),
      owner: config.dir,
      server: 'prometheus',
    });
  },

  async probe(config) {
    await httpOk(`http://127.0.0.1:${config.ports.prometheus}/-/ready`);
  },

  running: (config) => isRunning(readPidFile(pidFile(config, 'prometheus'))),
  stop: (config) => stopRecorded(pidFile(config, 'prometheus'), 15_000),
};
