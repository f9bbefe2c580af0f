/**
 * The six RabbitMQ tutorial patterns (hello, work queues, pub/sub, routing, topics, RPC), written as the
 * official Node.js tutorials write them (callback API, one program per role, consumers that run until
 * stopped), each run as separate processes on the real broker: once plain and once with the one line
 * `connection = instrument(connection)` doing `instrumentAmqp`. Their output must be identical; the
 * instrumented run's spans must join producers and consumers across processes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import amqplib from 'amqplib';
import { requireServer } from '../../helpers/env.js';
import { amqpUrl } from './helpers.js';

type Mode = 'raw' | 'wrapped';

interface SpanDump {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
}

const programs = join(import.meta.dirname, 'fixtures', 'tutorials');
const spansDir = mkdtempSync(join(tmpdir(), 'hoptrace-tutorials-'));
after(() => rmSync(spansDir, { recursive: true, force: true }));

class Program {
  readonly lines: string[] = [];
  readonly spansFile: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private stderr = '';

  constructor(name: string, args: string[], mode: Mode, prefix: string) {
    this.spansFile = join(spansDir, `${prefix}${name}-${randomBytes(3).toString('hex')}.json`);
    this.child = spawn(process.execPath, [join(programs, `${name}.js`), ...args], {
      env: {
        ...process.env,
        HOPTRACE_AMQP_URL: amqpUrl(),
        HOPTRACE_TUTORIAL_MODE: mode,
        HOPTRACE_TUTORIAL_PREFIX: prefix,
        HOPTRACE_TUTORIAL_SPANS: this.spansFile,
        HOPTRACE_TUTORIAL_MS_PER_DOT: '50',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  async until(check: (lines: string[]) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this.lines)) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; output: ${JSON.stringify(this.lines)} ${this.stderr}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits for a program that exits by itself (producers, the RPC client). */
  async finished(): Promise<string[]> {
    const code = await this.exited;
    assert.equal(code, 0, this.stderr);
    return this.lines;
  }

  /** Stops a consumer as Ctrl+C would. */
  async stop(): Promise<string[]> {
    this.child.kill('SIGTERM');
    await this.exited;
    return this.lines;
  }

  spans(): SpanDump[] {
    return JSON.parse(readFileSync(this.spansFile, 'utf8')) as SpanDump[];
  }
}

const has =
  (text: string, count = 1) =>
  (lines: string[]) =>
    lines.filter((l) => l === text).length >= count;
const waiting = (lines: string[]) => lines.some((l) => l.startsWith(' [*] Waiting'));

/** One run of a tutorial: its programs' outputs by role, and the programs (for the spans). */
interface Run {
  output: Record<string, string[]>;
  programs: Record<string, Program>;
}

type Tutorial = (mode: Mode, prefix: string) => Promise<Run>;

const TUTORIALS: Record<string, Tutorial> = {
  async 'hello world'(mode, prefix) {
    const receive = new Program('receive', [], mode, prefix);
    await receive.until(waiting, 'the consumer');
    const send = new Program('send', [], mode, prefix);
    const sent = await send.finished();
    await receive.until(has(' [x] Received Hello World!'), 'the message');
    return { output: { send: sent, receive: await receive.stop() }, programs: { send, receive } };
  },

  async 'work queues'(mode, prefix) {
    const workers = [new Program('worker', [], mode, prefix), new Program('worker', [], mode, prefix)];
    for (const w of workers) await w.until(waiting, 'a worker');
    const tasks: string[] = [];
    for (const task of ['First message.', 'Second message..', 'Third message...'])
      tasks.push(...(await new Program('new_task', task.split(' '), mode, prefix).finished()));
    const doneCount = () => workers.reduce((n, w) => n + w.lines.filter((l) => l === ' [x] Done').length, 0);
    const deadline = Date.now() + 15_000;
    while (doneCount() < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Which worker gets which task is the broker's round robin: compare all workers' lines together.
    const workerLines = (await Promise.all(workers.map((w) => w.stop()))).flat().sort();
    return { output: { new_task: tasks, workers: workerLines }, programs: {} };
  },

  async 'publish/subscribe'(mode, prefix) {
    const receivers = [
      new Program('receive_logs', [], mode, prefix),
      new Program('receive_logs', [], mode, prefix),
    ];
    for (const r of receivers) await r.until(waiting, 'a subscriber');
    const emit = new Program('emit_log', ['info:', 'Hello', 'World'], mode, prefix);
    const emitted = await emit.finished();
    for (const r of receivers) await r.until(has(' [x] info: Hello World'), 'the log line');
    const output: Record<string, string[]> = { emit_log: emitted };
    for (const [i, r] of receivers.entries()) output[`receive_logs ${i}`] = await r.stop();
    return { output, programs: { emit, r0: receivers[0] as Program, r1: receivers[1] as Program } };
  },

  async routing(mode, prefix) {
    const errors = new Program('receive_logs_direct', ['warning', 'error'], mode, prefix);
    const all = new Program('receive_logs_direct', ['info', 'warning', 'error'], mode, prefix);
    for (const r of [errors, all]) await r.until(waiting, 'a subscriber');
    const emitted = [
      ...(await new Program(
        'emit_log_direct',
        ['error', 'Run.', 'Run.', 'Or', 'it', 'will', 'explode.'],
        mode,
        prefix,
      ).finished()),
      ...(await new Program(
        'emit_log_direct',
        ['info', 'just', 'so', 'you', 'know'],
        mode,
        prefix,
      ).finished()),
    ];
    await all.until((l) => l.length >= 3, 'two lines for the info, warning, error subscriber');
    await errors.until((l) => l.length >= 2, 'one line for the warning, error subscriber');
    return {
      output: {
        emit_log_direct: emitted,
        'warning error': await errors.stop(),
        'info warning error': await all.stop(),
      },
      programs: {},
    };
  },

  async topics(mode, prefix) {
    const kern = new Program('receive_logs_topic', ['kern.*'], mode, prefix);
    const critical = new Program('receive_logs_topic', ['*.critical'], mode, prefix);
    for (const r of [kern, critical]) await r.until(waiting, 'a subscriber');
    const emitted = [
      ...(await new Program(
        'emit_log_topic',
        ['kern.critical', 'A', 'critical', 'kernel', 'error'],
        mode,
        prefix,
      ).finished()),
      ...(await new Program(
        'emit_log_topic',
        ['cron.critical', 'cron', 'is', 'down'],
        mode,
        prefix,
      ).finished()),
    ];
    await kern.until((l) => l.length >= 2, 'the kern.* line');
    await critical.until((l) => l.length >= 3, 'the *.critical lines');
    return {
      output: { emit_log_topic: emitted, 'kern.*': await kern.stop(), '*.critical': await critical.stop() },
      programs: {},
    };
  },

  async rpc(mode, prefix) {
    const server = new Program('rpc_server', [], mode, prefix);
    await server.until(has(' [x] Awaiting RPC requests'), 'the server');
    const clients = [
      new Program('rpc_client', ['30'], mode, prefix),
      new Program('rpc_client', ['10'], mode, prefix),
    ];
    const outputs = await Promise.all(clients.map((c) => c.finished()));
    await server.until((l) => l.length >= 3, 'two requests served');
    return {
      output: {
        'rpc_client 30': outputs[0] as string[],
        'rpc_client 10': outputs[1] as string[],
        rpc_server: (await server.stop()).sort(),
      },
      programs: { server, c0: clients[0] as Program, c1: clients[1] as Program },
    };
  },
};

/** The run's own names out of the output: server-named queues differ from run to run. */
function normalize(output: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(output).map(([role, lines]) => [
      role,
      lines.map((l) => l.replace(/amq\.gen-[\w-]+/g, '<server-named>')),
    ]),
  );
}

const EXPECTED: Record<string, Record<string, string[]>> = {
  'hello world': {
    send: [' [x] Sent Hello World!'],
    receive: [' [*] Waiting for messages in hello. To exit press CTRL+C', ' [x] Received Hello World!'],
  },
  rpc: {
    'rpc_client 30': [' [x] Requesting fib(30)', ' [.] Got 832040'],
    'rpc_client 10': [' [x] Requesting fib(10)', ' [.] Got 55'],
    rpc_server: [' [.] fib(10)', ' [.] fib(30)', ' [x] Awaiting RPC requests'],
  },
};

describe('the RabbitMQ tutorials, plain and instrumented: identical output', () => {
  for (const [name, tutorial] of Object.entries(TUTORIALS)) {
    it(name, { timeout: 60_000 }, async (t) => {
      const reachable = await requireServer(t, 'RabbitMQ', async () => {
        const c = await amqplib.connect(amqpUrl());
        await c.close();
      });
      if (!reachable) return;
      const id = randomBytes(4).toString('hex');
      const [raw, wrapped] = await Promise.all([
        tutorial('raw', `hoptrace-test.tut-${id}-raw.`),
        tutorial('wrapped', `hoptrace-test.tut-${id}-wrapped.`),
      ]);
      assert.deepEqual(normalize(wrapped.output), normalize(raw.output));
      if (EXPECTED[name]) assert.deepEqual(normalize(raw.output), EXPECTED[name]);
      assert.ok(
        Object.values(raw.output).every((lines) => lines.length > 0),
        JSON.stringify(raw.output),
      );
      checkTraces(name, wrapped.programs);
      await cleanUp(`hoptrace-test.tut-${id}-`);
    });
  }
});

/** The instrumented run's spans, across its processes, tell the same story as the output. */
function checkTraces(name: string, programs: Record<string, Program>): void {
  if (name === 'hello world') {
    const publish = programs.send?.spans().find((s) => s.kind === SpanKind.PRODUCER);
    const process = programs.receive?.spans().find((s) => s.kind === SpanKind.CONSUMER);
    assert.ok(publish && process);
    assert.equal(process.traceId, publish.traceId);
    assert.equal(process.parentSpanId, publish.spanId);
  }
  if (name === 'publish/subscribe') {
    const publish = programs.emit?.spans().find((s) => s.kind === SpanKind.PRODUCER);
    const deliveries = [programs.r0, programs.r1]
      .flatMap((p) => p?.spans() ?? [])
      .filter((s) => s.kind === SpanKind.CONSUMER);
    assert.equal(deliveries.length, 2);
    for (const d of deliveries) {
      assert.equal(d.traceId, publish?.traceId);
      // Each subscriber's server-named exclusive queue: one placeholder name, the real one an attribute.
      assert.equal(d.name, 'process (temporary)');
      assert.match(String(d.attributes['messaging.destination.name']), /^amq\.gen-/);
    }
  }
  if (name === 'rpc') {
    const server = programs.server?.spans() ?? [];
    for (const client of [programs.c0, programs.c1]) {
      const spans = client?.spans() ?? [];
      const request = spans.find((s) => s.kind === SpanKind.PRODUCER);
      const reply = spans.find((s) => s.kind === SpanKind.CONSUMER);
      assert.ok(request && reply);
      // The tutorial's own correlationId is the flow's correlation ID, end to end, in one trace.
      const correlationId = request.attributes['messaging.message.conversation_id'];
      assert.match(String(correlationId), /^0\.\d+0\.\d+0\.\d+$/);
      const handled = server.filter(
        (s) => s.attributes['messaging.message.conversation_id'] === correlationId,
      );
      assert.deepEqual(handled.map((s) => s.kind).sort(), [SpanKind.PRODUCER, SpanKind.CONSUMER].sort());
      for (const s of [...handled, reply]) assert.equal(s.traceId, request.traceId);
      assert.equal(reply.attributes['messaging.message.conversation_id'], correlationId);
      assert.equal(reply.name, 'process (temporary)');
    }
  }
}

/** Deletes the tutorials' durable queue and exchanges of this run (the rest are exclusive or auto). */
async function cleanUp(prefix: string): Promise<void> {
  const conn = await amqplib.connect(amqpUrl());
  const ch = await conn.createChannel();
  for (const mode of ['raw', 'wrapped']) {
    for (const q of ['hello', 'task_queue', 'rpc_queue']) await ch.deleteQueue(`${prefix}${mode}.${q}`);
    for (const e of ['logs', 'direct_logs', 'topic_logs']) await ch.deleteExchange(`${prefix}${mode}.${e}`);
  }
  await conn.close();
}
