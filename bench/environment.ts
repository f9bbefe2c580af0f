/** What a benchmark ran on: the machine, its load, and the versions of everything measured. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { KAFKA_VERSION, MOTO_VERSION } from '../scripts/stack/config.js';
import { STACK_DEFAULTS, stackEndpoint } from '../test/helpers/env.js';
import type { Server } from './suite.js';

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  kernel: string;
}

export interface Versions {
  node: string;
  hoptraceCommit: string;
  packages: Record<string, string>;
  brokers: Record<string, string>;
}

const PACKAGES = [
  'amqplib',
  'kafkajs',
  '@opentelemetry/api',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/context-async-hooks',
  '@opentelemetry/instrumentation-amqplib',
  '@opentelemetry/instrumentation-kafkajs',
  '@aws-sdk/client-sqs',
  '@opentelemetry/instrumentation-aws-sdk',
  '@google-cloud/pubsub',
  'prom-client',
];

export function machine(): Machine {
  const all = cpus();
  return {
    cpu: all[0]?.model.trim() ?? 'unknown',
    cores: all.length,
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${process.platform} ${release()}`,
  };
}

export function load(): [number, number, number] {
  const [one, five, fifteen] = loadavg();
  return [one ?? 0, five ?? 0, fifteen ?? 0];
}

function packageVersion(name: string): string {
  try {
    const require = createRequire(import.meta.url);
    // Not `require(name/package.json)`: some packages do not export it.
    const main = require.resolve(name);
    const root = main.slice(0, main.lastIndexOf(join('node_modules', name)) + `node_modules/${name}`.length);
    return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function gitCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
    });
    return dirty.trim().length > 0 ? `${commit}+changes` : commit;
  } catch {
    return 'unknown';
  }
}

async function rabbitmqVersion(): Promise<string> {
  try {
    const url = new URL('/api/overview', stackEndpoint('HOPTRACE_RABBITMQ_MANAGEMENT_URL'));
    const auth = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`);
    url.username = '';
    url.password = '';
    const response = await fetch(url, {
      headers: { authorization: `Basic ${auth.toString('base64')}` },
      signal: AbortSignal.timeout(3000),
    });
    const body = (await response.json()) as { rabbitmq_version?: string; erlang_version?: string };
    return `${body.rabbitmq_version ?? 'unknown'} (Erlang ${body.erlang_version ?? 'unknown'})`;
  } catch {
    return 'unknown';
  }
}

function kafkaVersion(): string {
  // kafkajs cannot ask a broker for its version; the project's stack pins one.
  return stackEndpoint('HOPTRACE_KAFKA_BROKERS') === STACK_DEFAULTS.HOPTRACE_KAFKA_BROKERS
    ? `${KAFKA_VERSION} (KRaft, project stack)`
    : 'unknown (HOPTRACE_KAFKA_BROKERS)';
}

/** The Go client library whose `pstest` the project's stack builds (its go.mod). */
function pstestVersion(): string {
  try {
    const goMod = readFileSync(
      join(import.meta.dirname, '..', '..', 'scripts', 'stack', 'pubsub-fake', 'go.mod'),
      'utf8',
    );
    return goMod.match(/cloud\.google\.com\/go\/pubsub\/v2 (v\S+)/)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The emulators cannot be asked for their versions; the project's stack pins them. */
function emulatorVersion(
  variable: 'HOPTRACE_SQS_ENDPOINT' | 'HOPTRACE_PUBSUB_EMULATOR_HOST',
  pinned: string,
) {
  return stackEndpoint(variable) === STACK_DEFAULTS[variable]
    ? `${pinned} (project stack)`
    : `unknown (${variable})`;
}

/** Host and port of a server a workload needs. */
export function serverAddress(server: Server): { host: string; port: number } {
  switch (server) {
    case 'rabbitmq': {
      const url = new URL(stackEndpoint('HOPTRACE_AMQP_URL'));
      return { host: url.hostname, port: Number(url.port || 5672) };
    }
    case 'redis': {
      const url = new URL(stackEndpoint('HOPTRACE_REDIS_URL'));
      return { host: url.hostname, port: Number(url.port || 6379) };
    }
    case 'sqs': {
      const url = new URL(stackEndpoint('HOPTRACE_SQS_ENDPOINT'));
      return { host: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
    }
    case 'pubsub': {
      const [host = '127.0.0.1', port = '8085'] = stackEndpoint('HOPTRACE_PUBSUB_EMULATOR_HOST').split(':');
      return { host, port: Number(port) };
    }
    case 'kafka': {
      const [host = '127.0.0.1', port = '9092'] = (
        stackEndpoint('HOPTRACE_KAFKA_BROKERS').split(',')[0] ?? ''
      ).split(':');
      return { host, port: Number(port) };
    }
  }
}

export async function versions(): Promise<Versions> {
  const packages: Record<string, string> = {};
  for (const name of PACKAGES) packages[name] = packageVersion(name);
  return {
    node: process.version,
    hoptraceCommit: gitCommit(),
    packages,
    brokers: {
      RabbitMQ: await rabbitmqVersion(),
      Kafka: kafkaVersion(),
      'SQS emulator': `moto ${emulatorVersion('HOPTRACE_SQS_ENDPOINT', MOTO_VERSION)}`,
      'Pub/Sub fake': `pstest ${emulatorVersion('HOPTRACE_PUBSUB_EMULATOR_HOST', pstestVersion())}`,
    },
  };
}
