/**
 * No secrets in logs: URLs carrying a unique password go to the CLI (demo, collector), the RabbitMQ example
 * and the reconnecting clients, against unreachable or refusing servers, so every failure path runs. The
 * password must appear nowhere in their output (stdout, stderr, log lines, error messages).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import amqplib from 'amqplib';
import { startReconnectingPublisher } from '../../../examples/rabbitmq/reconnect.js';
import { otlpProtobuf, processSpan, publishSpan } from '../../helpers/collector.js';
import { requireServer } from '../../helpers/env.js';
import { amqpUrl } from '../rabbitmq/helpers.js';
import { freePort } from './collector-process.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CLI = join(ROOT, 'cli', 'index.js');

const secret = () => `pw${randomBytes(8).toString('hex')}`;

interface Run {
  code: number | null;
  output: string;
}

/** Runs a node script; `whileRunning` gets the output so far and may stop it (SIGTERM) early. */
function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  whileRunning?: (output: () => string, stop: () => void) => Promise<void>,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    void whileRunning?.(
      () => output,
      () => child.kill('SIGTERM'),
    );
  });
}

test('hoptrace demo never prints the AMQP or OTLP password', async () => {
  const password = secret();
  const closed = await freePort();
  const rabbit = await run([
    CLI,
    'demo',
    '--broker',
    'rabbitmq',
    '--amqp-url',
    `amqp://guest:${password}@127.0.0.1:${closed}`,
  ]);
  assert.notEqual(rabbit.code, 0);
  assert.match(rabbit.output, /\*\*\*/, 'the URL is shown redacted');
  const otlp = await run([
    CLI,
    'demo',
    '--broker',
    'inproc',
    '--otlp',
    `http://user:${password}@127.0.0.1:${closed}`,
  ]);
  const badUrl = await run([CLI, 'demo', '--otlp', `http://user:${password}@bad host`]);
  assert.equal(badUrl.code, 2);
  for (const { output } of [rabbit, otlp, badUrl]) assert.ok(!output.includes(password), output);
});

test('hoptrace collector never prints the management or forward password', async () => {
  const password = secret();
  const closed = await freePort();
  const port = await freePort();
  const collector = await run(
    [
      CLI,
      'collector',
      '--port',
      String(port),
      '--rabbitmq',
      `http://guest:${password}@127.0.0.1:${closed}`,
      '--forward',
      `http://tenant:${password}@127.0.0.1:${closed}`,
      '--monitor-interval',
      '200',
    ],
    {},
    async (output, stop) => {
      const deadline = Date.now() + 20_000;
      while (!output().includes('listening') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      // Spans to forward (the target refuses), monitor polls failing: every error path logs.
      const pub = publishSpan({
        service: 'orders',
        destination: 'orders',
        correlationId: 'secret-flow',
        at: 0,
      });
      const spans = [
        pub,
        processSpan(pub, { service: 'billing', destination: 'billing', group: 'b', outcome: 'ack', at: 2 }),
      ];
      await fetch(`http://127.0.0.1:${port}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: otlpProtobuf(spans),
      }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 2500));
      stop();
    },
  );
  assert.match(collector.output, /forwarding to http:\/\/tenant:\*\*\*@/);
  assert.ok(!collector.output.includes(password), collector.output);

  const invalid = await run([CLI, 'collector', '--forward', `http://tenant:${password}@bad host`]);
  assert.equal(invalid.code, 2);
  assert.ok(!invalid.output.includes(password), invalid.output);
});

test('the RabbitMQ example and the reconnecting clients never print the password', async (t) => {
  const password = secret();
  const closed = await freePort();
  // Unreachable broker: the reconnecting publisher logs its retries.
  const lines: string[] = [];
  const publisher = startReconnectingPublisher({
    url: `amqp://guest:${password}@127.0.0.1:${closed}`,
    minDelayMs: 50,
    maxDelayMs: 100,
    log: (line) => lines.push(line),
  });
  await new Promise((r) => setTimeout(r, 500));
  await publisher.close();
  assert.ok(lines.length > 0, 'the outage was logged');
  for (const line of lines) assert.ok(!line.includes(password), line);

  // A refusing broker (wrong password): the example's own error output.
  if (!(await requireServer(t, 'RabbitMQ', () => amqplib.connect(amqpUrl()).then((c) => c.close())))) return;
  const url = new URL(amqpUrl());
  url.password = password;
  const example = await run([join(ROOT, 'examples', 'rabbitmq', 'main.js'), 'storefront', '1'], {
    HOPTRACE_AMQP_URL: url.toString(),
  });
  assert.notEqual(example.code, 0);
  assert.match(example.output, /ACCESS.REFUSED/);
  assert.ok(!example.output.includes(password), example.output);
});
