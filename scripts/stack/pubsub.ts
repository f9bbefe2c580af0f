/**
 * Google's Pub/Sub fake: `pstest` from the Go client library (cloud.google.com/go/pubsub/v2), an
 * in-memory gRPC server, wrapped in the small program in scripts/stack/pubsub-fake (its go.sum pins
 * every module). Built once with Go into <cache>/bin/pubsub-fake-<source hash>, like Jaeger.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { logFile, pidFile, type StackConfig } from './config.js';
import { findGo, run } from './install.js';
import { isRunning, readPidFile, spawnDaemon, stopRecorded } from './process.js';
import { StackError } from './ready.js';
import type { StackServer } from './server.js';

const SOURCE_FILES = ['go.mod', 'go.sum', 'main.go'];

function sourceDir(config: StackConfig): string {
  return join(config.repoRoot, 'scripts', 'stack', 'pubsub-fake');
}

/** Named by a hash of its sources: a changed pin or program is rebuilt, never run stale. */
export function pubsubBinary(config: StackConfig): string {
  const hash = createHash('sha256');
  for (const file of SOURCE_FILES) hash.update(readFileSync(join(sourceDir(config), file)));
  return join(config.cacheDir, 'bin', `pubsub-fake-${hash.digest('hex').slice(0, 12)}`);
}

export async function buildPubsubFake(config: StackConfig): Promise<void> {
  const go = findGo(config.env);
  if (!go) throw new StackError('pubsub: building the fake needs Go (`go` not found on PATH)', 'pubsub');
  const log = logFile(config, 'pubsub');
  const binary = pubsubBinary(config);
  const started = Date.now();
  process.stderr.write(`stack: building the Pub/Sub fake with Go into ${binary} (log: ${log})\n`);
  mkdirSync(join(binary, '..'), { recursive: true });
  try {
    // -mod=readonly: go.sum must already hold every module (reproducible); -trimpath: no local paths.
    await run(go, ['build', '-mod=readonly', '-trimpath', '-o', `${binary}.partial`, '.'], {
      env: config.env,
      cwd: sourceDir(config),
      logFile: log,
      timeoutMs: 30 * 60_000,
    });
    renameSync(`${binary}.partial`, binary);
  } catch (err) {
    rmSync(`${binary}.partial`, { force: true });
    throw new StackError(`pubsub: go build failed: ${(err as Error).message}; see ${log}`, 'pubsub', log);
  }
  process.stderr.write(`stack: Pub/Sub fake built in ${Math.round((Date.now() - started) / 1000)} s\n`);
}

export const pubsub: StackServer = {
  name: 'pubsub',
  readyTimeoutMs: 15_000,
  ports: (config) => [config.ports.pubsub],
  describe: (config) => `PUBSUB_EMULATOR_HOST=127.0.0.1:${config.ports.pubsub} (pstest, in memory)`,

  async install(config) {
    if (!existsSync(pubsubBinary(config))) await buildPubsubFake(config);
  },

  async start(config) {
    const dir = join(config.dir, 'pubsub');
    mkdirSync(dir, { recursive: true });
    return spawnDaemon({
      command: pubsubBinary(config),
      args: ['-addr', `127.0.0.1:${config.ports.pubsub}`],
      env: config.env,
      cwd: dir,
      logFile: logFile(config, 'pubsub'),
      pidFile: pidFile(config, 'pubsub'),
      owner: config.dir,
      server: 'pubsub',
    });
  },

  loadClient: () => import('@google-cloud/pubsub'),

  async probe(config) {
    // Otherwise the client looks for a GCE metadata server (and warns when there is none).
    process.env.METADATA_SERVER_DETECTION ??= 'none';
    const { PubSub } = await import('@google-cloud/pubsub');
    const client = new PubSub({
      projectId: 'hoptrace-stack',
      apiEndpoint: `127.0.0.1:${config.ports.pubsub}`,
      emulatorMode: true,
    });
    try {
      await client.getTopics({ gaxOpts: { timeout: 2000, retry: null } });
    } finally {
      await client.close().catch(() => {});
    }
  },

  running: (config) => isRunning(readPidFile(pidFile(config, 'pubsub'))),
  stop: (config) => stopRecorded(pidFile(config, 'pubsub'), 5_000),
};
