/**
 * Redis (Debian `redis-server`) for BullMQ: loopback only, no persistence (no RDB snapshots, no AOF),
 * so a restart starts empty and nothing is written outside the stack directory.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { logFile, pidFile, type StackConfig } from './config.js';
import { ensureAptPackages, findExecutable } from './install.js';
import { isRunning, readPidFile, spawnDaemon, stopRecorded } from './process.js';
import type { StackServer } from './server.js';

export const redis: StackServer = {
  name: 'redis',
  readyTimeoutMs: 15_000,
  ports: (config) => [config.ports.redis],
  describe: (config) => `redis://127.0.0.1:${config.ports.redis}`,

  async install(config) {
    await ensureAptPackages(
      'redis',
      [{ binary: 'redis-server', aptPackage: 'redis-server' }],
      logFile(config, 'redis'),
    );
  },

  async start(config: StackConfig) {
    const dir = join(config.dir, 'redis');
    mkdirSync(dir, { recursive: true });
    return spawnDaemon({
      command: findExecutable('redis-server') ?? 'redis-server',
      args: [
        '--port',
        String(config.ports.redis),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--dir',
        dir,
      ],
      env: config.env,
      cwd: dir,
      logFile: logFile(config, 'redis'),
      pidFile: pidFile(config, 'redis'),
      owner: config.dir,
      server: 'redis',
    });
  },

  loadClient: () => import('ioredis'),

  async probe(config) {
    const { Redis } = await import('ioredis');
    const client = new Redis({
      host: '127.0.0.1',
      port: config.ports.redis,
      lazyConnect: true,
      connectTimeout: 2000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    // Connection errors reject connect(); without a listener ioredis also logs them.
    client.on('error', () => {});
    try {
      await client.connect();
      const pong = await client.ping();
      if (pong !== 'PONG') throw new Error(`PING answered ${pong}`);
    } finally {
      client.disconnect();
    }
  },

  running: (config) => isRunning(readPidFile(pidFile(config, 'redis'))),
  stop: (config) => stopRecorded(pidFile(config, 'redis'), 10_000),
};
