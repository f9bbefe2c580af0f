/**
 * The SQS/SNS emulator: moto's server mode (PyPI `moto`), one process answering both APIs on one
 * loopback port. moto runs from a venv in the cache (outside git), created once with the pinned
 * versions of scripts/stack/moto/constraints.txt. Only the `sqs` and `sns` extras plus Flask are
 * installed: `moto[server]` pulls in every service's dependencies (cfn-lint, sympy, docker...),
 * about twice the size and several times the install time, for APIs the tests never call.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logFile, MOTO_VERSION, pidFile, type StackConfig } from './config.js';
import { ensureAptPackages, findExecutable, run } from './install.js';
import { isRunning, readPidFile, spawnDaemon, stopRecorded } from './process.js';
import { StackError } from './ready.js';
import type { StackServer } from './server.js';

const MOTO_REQUIREMENTS = [`moto[sqs,sns]==${MOTO_VERSION}`, 'flask', 'flask-cors'];

function constraintsFile(config: StackConfig): string {
  return join(config.repoRoot, 'scripts', 'stack', 'moto', 'constraints.txt');
}

/** `<cache>/moto-<version>-<constraints hash>`: a changed pin gets a fresh venv. */
export function motoVenv(config: StackConfig): string {
  const hash = createHash('sha256')
    .update(readFileSync(constraintsFile(config)))
    .digest('hex')
    .slice(0, 10);
  return join(config.cacheDir, `moto-${MOTO_VERSION}-${hash}`);
}

function motoServer(config: StackConfig): string {
  return join(motoVenv(config), 'bin', 'moto_server');
}

function completeMarker(config: StackConfig): string {
  return join(motoVenv(config), '.hoptrace-complete');
}

/** A Python 3 that can create a venv with pip (Debian's needs python3-venv for ensurepip). */
function pythonWithVenv(env: NodeJS.ProcessEnv): string | undefined {
  const candidates = [findExecutable('python3', env), '/usr/bin/python3'];
  for (const python of candidates) {
    if (!python) continue;
    const check = spawnSync(python, ['-c', 'import venv, ensurepip'], {
      env,
      stdio: 'ignore',
      timeout: 30_000,
    });
    if (check.status === 0) return python;
  }
  return undefined;
}

export async function installMoto(config: StackConfig): Promise<void> {
  const log = logFile(config, 'sqs');
  let python = pythonWithVenv(config.env);
  if (!python) {
    await ensureAptPackages(
      'sqs',
      [{ binary: 'python3 with venv', aptPackage: 'python3-venv', present: () => false }],
      log,
    );
    python = pythonWithVenv(config.env);
    if (!python) throw new StackError('sqs: no python3 with the venv module, even after apt-get', 'sqs', log);
  }
  const venv = motoVenv(config);
  const started = Date.now();
  process.stderr.write(`stack: installing moto ${MOTO_VERSION} from PyPI into ${venv} (log: ${log})\n`);
  // A venv is not relocatable (its scripts name their interpreter by absolute path): build it in place,
  // and only the marker written last says it is complete.
  rmSync(venv, { recursive: true, force: true });
  mkdirSync(config.cacheDir, { recursive: true });
  try {
    await run(python, ['-m', 'venv', venv], { env: config.env, logFile: log, timeoutMs: 5 * 60_000 });
    await run(
      join(venv, 'bin', 'pip'),
      [
        'install',
        '--disable-pip-version-check',
        '--no-input',
        '--quiet',
        '-c',
        constraintsFile(config),
        ...MOTO_REQUIREMENTS,
      ],
      { env: config.env, logFile: log, timeoutMs: 20 * 60_000 },
    );
  } catch (err) {
    throw new StackError(`sqs: installing moto failed: ${(err as Error).message}; see ${log}`, 'sqs', log);
  }
  writeFileSync(completeMarker(config), `${MOTO_REQUIREMENTS.join(' ')}\n`);
  process.stderr.write(`stack: moto installed in ${Math.round((Date.now() - started) / 1000)} s\n`);
}

export const sqs: StackServer = {
  name: 'sqs',
  readyTimeoutMs: 30_000,
  ports: (config) => [config.ports.sqs],
  describe: (config) => `SQS and SNS at http://127.0.0.1:${config.ports.sqs} (moto ${MOTO_VERSION})`,

  async install(config) {
    if (!existsSync(completeMarker(config))) await installMoto(config);
  },

  async start(config) {
    const dir = join(config.dir, 'sqs');
    mkdirSync(dir, { recursive: true });
    return spawnDaemon({
      command: motoServer(config),
      args: ['-H', '127.0.0.1', '-p', String(config.ports.sqs)],
      // Unbuffered, so the log shows requests as they come.
      env: { ...config.env, PYTHONUNBUFFERED: '1' },
      cwd: dir,
      logFile: logFile(config, 'sqs'),
      pidFile: pidFile(config, 'sqs'),
      owner: config.dir,
      server: 'sqs',
    });
  },

  loadClient: () => import('@aws-sdk/client-sqs'),

  async probe(config) {
    // The SDK's Node 20 end-of-support notice, printed on every `up`, is noise here (this process only;
    // the tests' processes keep it).
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const { SQSClient, ListQueuesCommand } = await import('@aws-sdk/client-sqs');
    const client = new SQSClient({
      endpoint: `http://127.0.0.1:${config.ports.sqs}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'hoptrace', secretAccessKey: 'hoptrace' },
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 2000, requestTimeout: 2000 },
    });
    try {
      await client.send(new ListQueuesCommand({}));
    } finally {
      client.destroy();
    }
  },

  running: (config) => isRunning(readPidFile(pidFile(config, 'sqs'))),
  stop: (config) => stopRecorded(pidFile(config, 'sqs'), 10_000),
};
