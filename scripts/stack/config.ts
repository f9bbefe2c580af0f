/**
 * Where the stack lives and which ports it uses. Everything the stack writes (configs, data, logs,
 * PID files) goes under one directory, `<repo>/.stack` unless HOPTRACE_STACK_DIR says otherwise;
 * downloaded jars and built binaries go to a cache outside the git tree so a second run is fast.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/**
 * In start order for installs: quick Debian and PyPI installs first, the Go builds (the Pub/Sub fake,
 * then Jaeger's long one) last, so everything else is up while they build.
 */
export const SERVER_NAMES = [
  'rabbitmq',
  'kafka',
  'prometheus',
  'alertmanager',
  'redis',
  'sqs',
  'pubsub',
  'jaeger',
] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

export function isServerName(value: string): value is ServerName {
  return (SERVER_NAMES as readonly string[]).includes(value);
}

/** Installed programs the tests run themselves (no process of the stack's): only a browser today. */
export const TOOL_NAMES = ['chromium'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export function isToolName(value: string): value is ToolName {
  return (TOOL_NAMES as readonly string[]).includes(value);
}

/** Kafka is pinned: kafkajs 2.2.4 was verified against it (produce, group consume, offset commit). */
export const KAFKA_VERSION = '4.1.1';
/** log4j2 binding for Kafka 4.x (Kafka 4 moved from reload4j to log4j2). */
export const LOG4J_VERSION = '2.24.3';
/**
 * Jaeger v2 is built from the `github.com/jaegertracing/jaeger` Go module. Its v1.x tags carry the
 * v2 binary too (v1.76.0 is the commit tagged v2.13.0); the module path has no /v2 suffix, so the
 * v2.x tags cannot be resolved as module versions.
 */
export const JAEGER_MODULE_VERSION = 'v1.76.0';
/**
 * The SQS/SNS emulator, moto from PyPI, in a venv of its own; the rest of its dependencies are pinned
 * by scripts/stack/moto/constraints.txt.
 */
export const MOTO_VERSION = '5.2.6';
/** Debian's chromium package installs here; tests launch it with playwright-core. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

export interface StackPorts {
  amqp: number;
  rabbitmqManagement: number;
  rabbitmqPrometheus: number;
  rabbitmqDist: number;
  epmd: number;
  kafka: number;
  kafkaController: number;
  prometheus: number;
  alertmanager: number;
  jaegerOtlpHttp: number;
  jaegerOtlpGrpc: number;
  jaegerQuery: number;
  jaegerQueryGrpc: number;
  redis: number;
  sqs: number;
  pubsub: number;
}

/** The fixed loopback ports every hoptrace test and doc assumes. */
export const DEFAULT_PORTS: StackPorts = {
  amqp: 35672,
  rabbitmqManagement: 35673,
  rabbitmqPrometheus: 35692,
  rabbitmqDist: 35674,
  epmd: 34369,
  kafka: 39092,
  kafkaController: 39093,
  prometheus: 39090,
  alertmanager: 39094,
  jaegerOtlpHttp: 34318,
  jaegerOtlpGrpc: 34317,
  jaegerQuery: 36686,
  jaegerQueryGrpc: 36685,
  redis: 36379,
  sqs: 34566,
  pubsub: 38085,
};

export interface StackConfig {
  repoRoot: string;
  /** State, configs, data, logs and PID files of this stack. */
  dir: string;
  /** Downloads and builds shared by every stack on the machine (outside git). */
  cacheDir: string;
  ports: StackPorts;
  /** RabbitMQ node name; unique per port offset so two stacks can run side by side. */
  rabbitmqNode: string;
  /** Whether Jaeger is wanted: `off` never starts it, `build` builds it when missing, `auto` starts it when built. */
  jaeger: 'off' | 'auto' | 'build';
  env: NodeJS.ProcessEnv;
}

/** dist/scripts/stack/config.js -> repo root (three levels up from this file's directory). */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');

export function loadStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const offset = parseOffset(env.HOPTRACE_STACK_PORT_OFFSET);
  const ports = Object.fromEntries(
    Object.entries(DEFAULT_PORTS).map(([key, port]) => [key, port + offset]),
  ) as unknown as StackPorts;
  const dir = env.HOPTRACE_STACK_DIR ? resolve(env.HOPTRACE_STACK_DIR) : join(REPO_ROOT, '.stack');
  const cacheBase =
    env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  const cacheDir = env.HOPTRACE_CACHE_DIR ? resolve(env.HOPTRACE_CACHE_DIR) : join(cacheBase, 'hoptrace');
  return {
    repoRoot: REPO_ROOT,
    dir,
    cacheDir,
    ports,
    rabbitmqNode: offset === 0 ? 'hoptrace@localhost' : `hoptrace${offset}@localhost`,
    jaeger: parseJaegerMode(env.HOPTRACE_JAEGER),
    env,
  };
}

function parseOffset(raw: string | undefined): number {
  if (!raw) return 0;
  const offset = Number(raw);
  // Negative offsets move a second stack below 32768, out of Linux's ephemeral range, where a busy test
  // run's outgoing connections can hold a port just when a server wants to bind it.
  if (!Number.isInteger(offset) || offset < -20000 || offset > 20000) {
    throw new Error(`HOPTRACE_STACK_PORT_OFFSET must be an integer between -20000 and 20000, got "${raw}"`);
  }
  return offset;
}

function parseJaegerMode(raw: string | undefined): StackConfig['jaeger'] {
  switch ((raw ?? 'auto').toLowerCase()) {
    case 'off':
    case '0':
    case 'false':
      return 'off';
    case 'build':
    case 'on':
    case '1':
    case 'true':
      return 'build';
    default:
      return 'auto';
  }
}

/** The HOPTRACE_* variables that point tests and tools at this stack (see test/helpers/env.ts). */
export function stackEndpoints(config: StackConfig): Record<string, string> {
  const p = config.ports;
  return {
    HOPTRACE_AMQP_URL: `amqp://guest:guest@127.0.0.1:${p.amqp}`,
    HOPTRACE_RABBITMQ_MANAGEMENT_URL: `http://guest:guest@127.0.0.1:${p.rabbitmqManagement}`,
    HOPTRACE_RABBITMQ_PROMETHEUS_URL: `http://127.0.0.1:${p.rabbitmqPrometheus}`,
    HOPTRACE_KAFKA_BROKERS: `127.0.0.1:${p.kafka}`,
    HOPTRACE_PROMETHEUS_URL: `http://127.0.0.1:${p.prometheus}`,
    HOPTRACE_ALERTMANAGER_URL: `http://127.0.0.1:${p.alertmanager}`,
    HOPTRACE_JAEGER_OTLP_URL: `http://127.0.0.1:${p.jaegerOtlpHttp}`,
    HOPTRACE_JAEGER_QUERY_URL: `http://127.0.0.1:${p.jaegerQuery}`,
    HOPTRACE_REDIS_URL: `redis://127.0.0.1:${p.redis}`,
    HOPTRACE_SQS_ENDPOINT: `http://127.0.0.1:${p.sqs}`,
    HOPTRACE_PUBSUB_EMULATOR_HOST: `127.0.0.1:${p.pubsub}`,
    HOPTRACE_CHROMIUM: CHROMIUM_PATH,
  };
}

/** The endpoint variables each server answers to; a user who sets one brings that server themselves. */
export const SERVER_VARIABLES: Record<ServerName, readonly string[]> = {
  rabbitmq: ['HOPTRACE_AMQP_URL', 'HOPTRACE_RABBITMQ_MANAGEMENT_URL', 'HOPTRACE_RABBITMQ_PROMETHEUS_URL'],
  kafka: ['HOPTRACE_KAFKA_BROKERS'],
  prometheus: ['HOPTRACE_PROMETHEUS_URL'],
  alertmanager: ['HOPTRACE_ALERTMANAGER_URL'],
  jaeger: ['HOPTRACE_JAEGER_OTLP_URL', 'HOPTRACE_JAEGER_QUERY_URL'],
  redis: ['HOPTRACE_REDIS_URL'],
  // One moto server answers for both SQS and SNS.
  sqs: ['HOPTRACE_SQS_ENDPOINT'],
  pubsub: ['HOPTRACE_PUBSUB_EMULATOR_HOST'],
};

export const TOOL_VARIABLES: Record<ToolName, readonly string[]> = {
  chromium: ['HOPTRACE_CHROMIUM'],
};

/** Files of the stack's Prometheus that tests may write to (file_sd targets and rule files). */
export function prometheusPaths(config: StackConfig) {
  const root = join(config.dir, 'prometheus');
  return {
    root,
    configFile: join(root, 'prometheus.yml'),
    targetsDir: join(root, 'targets'),
    rulesDir: join(root, 'rules'),
    dataDir: join(root, 'data'),
  };
}

export function logFile(config: StackConfig, server: ServerName | ToolName): string {
  return join(config.dir, 'logs', `${server}.log`);
}

export function pidFile(config: StackConfig, name: string): string {
  return join(config.dir, 'run', `${name}.pid`);
}
