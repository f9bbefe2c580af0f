/**
 * Jaeger v2 (optional): OTLP/HTTP in, query API out, in-memory storage. Built from the
 * github.com/jaegertracing/jaeger Go module and cached as <cache>/bin/jaeger-<version>.
 *
 * `go install module/cmd/jaeger@version` cannot build it: the module's go.mod has a `replace`
 * directive, which `go install pkg@version` refuses. So the module source is fetched with
 * `go mod download` and built with `go build` as the main module, where the replace applies.
 */
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JAEGER_MODULE_VERSION, logFile, pidFile, type StackConfig } from './config.js';
import { findGo, run } from './install.js';
import { isRunning, readPidFile, spawnDaemon, stopRecorded } from './process.js';
import { httpOk, StackError } from './ready.js';
import type { StackServer } from './server.js';

const JAEGER_MODULE = 'github.com/jaegertracing/jaeger';

export function jaegerBinary(config: StackConfig): string {
  return join(config.cacheDir, 'bin', `jaeger-${JAEGER_MODULE_VERSION}`);
}

function configPath(config: StackConfig): string {
  return join(config.dir, 'jaeger', 'config.yaml');
}

function jaegerConfig(config: StackConfig): string {
  const p = config.ports;
  return `# Written by \`npm run stack -- up\` on every start (see docs/stack.md).
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info

extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${p.jaegerQuery}
    grpc:
      endpoint: 127.0.0.1:${p.jaegerQueryGrpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${p.jaegerOtlpGrpc}
      http:
        endpoint: 127.0.0.1:${p.jaegerOtlpHttp}

processors:
  batch:
    # Spans become queryable quickly: tests read them back right after sending.
    timeout: 100ms

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

/** Builds the binary into the cache. Minutes on a cold Go module cache (hundreds of modules). */
export async function buildJaeger(config: StackConfig): Promise<void> {
  const go = findGo(config.env);
  if (!go) throw new StackError('jaeger: building it needs Go (`go` not found on PATH)', 'jaeger');
  const log = logFile(config, 'jaeger');
  const binary = jaegerBinary(config);
  const started = Date.now();
  process.stderr.write(
    `stack: building Jaeger ${JAEGER_MODULE_VERSION} with Go into ${binary} (log: ${log})\n`,
  );
  // -buildvcs=false: the copied module source is not a VCS checkout.
  const env = { ...config.env, GOFLAGS: '-mod=mod -buildvcs=false' };
  const output = await run(go, ['mod', 'download', '-json', `${JAEGER_MODULE}@${JAEGER_MODULE_VERSION}`], {
    env,
    timeoutMs: 10 * 60_000,
  });
  const moduleDir = (JSON.parse(output) as { Dir?: string }).Dir;
  if (!moduleDir)
    throw new StackError(`jaeger: go mod download gave no source directory; see ${log}`, 'jaeger', log);
  // The module cache is read-only and `go build` may update go.sum: build from a writable copy.
  const source = join(config.cacheDir, 'src', `jaeger-${JAEGER_MODULE_VERSION}`);
  rmSync(source, { recursive: true, force: true });
  cpSync(moduleDir, source, { recursive: true, mode: 0 });
  await run('chmod', ['-R', 'u+w', source]);
  mkdirSync(join(binary, '..'), { recursive: true });
  try {
    await run(go, ['build', '-trimpath', '-o', `${binary}.partial`, './cmd/jaeger'], {
      env,
      cwd: source,
      logFile: log,
      timeoutMs: 60 * 60_000,
    });
    renameSync(`${binary}.partial`, binary);
  } catch (err) {
    throw new StackError(`jaeger: go build failed: ${(err as Error).message}; see ${log}`, 'jaeger', log);
  } finally {
    rmSync(source, { recursive: true, force: true });
  }
  process.stderr.write(`stack: Jaeger built in ${Math.round((Date.now() - started) / 1000)} s\n`);
}

export const jaeger: StackServer = {
  name: 'jaeger',
  readyTimeoutMs: 30_000,
  ports: (config) => [
    config.ports.jaegerOtlpHttp,
    config.ports.jaegerOtlpGrpc,
    config.ports.jaegerQuery,
    config.ports.jaegerQueryGrpc,
  ],
  describe: (config) =>
    `OTLP/HTTP http://127.0.0.1:${config.ports.jaegerOtlpHttp}, query http://127.0.0.1:${config.ports.jaegerQuery}`,

  unavailable(config) {
    if (config.jaeger === 'off') return 'HOPTRACE_JAEGER=off';
    if (config.jaeger === 'auto' && !existsSync(jaegerBinary(config))) {
      return `not built (${jaegerBinary(config)} missing; build it with HOPTRACE_JAEGER=build)`;
    }
    return undefined;
  },

  async install(config) {
    if (!existsSync(jaegerBinary(config))) await buildJaeger(config);
  },

  async start(config) {
    const file = configPath(config);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, jaegerConfig(config));
    return spawnDaemon({
      command: jaegerBinary(config),
      args: ['--config', file],
      env: config.env,
      cwd: join(file, '..'),
      logFile: logFile(config, 'jaeger'),
      pidFile: pidFile(config, 'jaeger'),
      owner: config.dir,
      server: 'jaeger',
    });
  },

  async probe(config) {
    await httpOk(`http://127.0.0.1:${config.ports.jaegerQuery}/api/services`);
    // The OTLP receiver answers 405 to GET once it listens; any HTTP answer proves it is up.
    await fetch(`http://127.0.0.1:${config.ports.jaegerOtlpHttp}/v1/traces`, {
      signal: AbortSignal.timeout(2000),
    });
  },

  running: (config) => isRunning(readPidFile(pidFile(config, 'jaeger'))),
  stop: (config) => stopRecorded(pidFile(config, 'jaeger'), 10_000),
};
