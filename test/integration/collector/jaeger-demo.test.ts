/**
 * `hoptrace demo` sent through `hoptrace collector --forward` (the CLI, a child process) into the
 * stack's real Jaeger, read back
 * through Jaeger's query API: each logical service is its own Jaeger service, an order's trace holds
 * its services, and the dead-lettered delivery is an error.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runOrdersDemo } from '../../../cli/demo/inproc.js';
import { runKafkaDemo } from '../../../cli/demo/kafka.js';
import { runRabbitDemo } from '../../../cli/demo/rabbitmq.js';
import { setupTelemetry } from '../../../cli/demo/telemetry.js';
import type { Journey, JourneyAttempt, JourneyPublish } from '../../../collector/types.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { brokers, requireKafka } from '../kafka/kafka-helpers.js';
import { amqpUrl } from '../rabbitmq/helpers.js';

const QUERY = stackEndpoint('HOPTRACE_JAEGER_QUERY_URL');
const OTLP = stackEndpoint('HOPTRACE_JAEGER_OTLP_URL');

interface JaegerSpan {
  spanID: string;
  traceID: string;
  references: { refType: string; spanID: string; traceID: string }[];
  operationName: string;
  processID: string;
  tags: { key: string; value: unknown }[];
  warnings: string[] | null;
}
interface JaegerTrace {
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: { key: string; value: unknown }[] }>;
}

const tag = (span: JaegerSpan, key: string) => span.tags.find((t) => t.key === key)?.value;

async function jaeger(t: TestContext): Promise<boolean> {
  return requireServer(t, 'Jaeger', () =>
    fetch(`${QUERY}/api/services`).then((r) => r.ok || Promise.reject(new Error(`HTTP ${r.status}`))),
  );
}

async function poll<T>(what: string, read: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Jaeger did not show ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function jaegerTrace(traceId: string, done: (trace: JaegerTrace) => boolean): Promise<JaegerTrace> {
  return poll(`trace ${traceId}`, async () => {
    const response = await fetch(`${QUERY}/api/traces/${traceId}`);
    if (!response.ok) return undefined;
    const trace = ((await response.json()) as { data: JaegerTrace[] }).data?.[0];
    return trace && done(trace) ? trace : undefined;
  });
}

function attemptsOf(publishes: JourneyPublish[]): JourneyAttempt[] {
  return publishes.flatMap((p) => p.deliveries.flatMap((d) => [...d.attempts, ...attemptsOf(d.publishes)]));
}

/** `hoptrace collector --port 0 --forward <Jaeger>` as a child process; resolves with its URL. */
async function startCliCollector(): Promise<{ url: string; close(): Promise<void> }> {
  const cli = fileURLToPath(new URL('../../../cli/index.js', import.meta.url));
  const child = spawn(process.execPath, [cli, 'collector', '--port', '0', '--forward', OTLP], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start: ${output}`)), 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[^\s;]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`collector exited (${code}): ${output}`)));
  });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Runs a demo with its spans exported to `hoptrace collector --forward` (a child process) that
 * forwards to Jaeger; returns order-3's trace.
 */
async function throughCollector(
  run: () => Promise<string[]>,
  expectAttempts?: number,
): Promise<{ trace: JaegerTrace; services: string[]; traceId: string; attempts: JourneyAttempt[] }> {
  const collector = await startCliCollector();
  try {
    const telemetry = setupTelemetry({ serviceName: 'storefront', otlpUrl: collector.url, keepSpans: false });
    let correlationIds: string[];
    try {
      correlationIds = await run();
    } finally {
      await telemetry.shutdown();
    }
    const third = correlationIds[2];
    const journey = await poll(`the journey of ${third} in the collector`, async () => {
      const response = await fetch(`${collector.url}/api/journeys/${encodeURIComponent(third)}`);
      if (!response.ok) return undefined;
      const j = (await response.json()) as Journey;
      if (j.publishes.length === 0) return undefined;
      return expectAttempts === undefined || attemptsOf(j.publishes).length >= expectAttempts ? j : undefined;
    });
    const attempts = attemptsOf(journey.publishes);
    const traceId = journey.publishes[0].traceId;
    const trace = await jaegerTrace(traceId, (tr) =>
      expectAttempts === undefined
        ? tr.spans.some((s) => tag(s, 'hoptrace.outcome') === 'dead_letter')
        : tr.spans.filter((s) => s.operationName.startsWith('deliver ')).length >= expectAttempts,
    );
    const services = await poll('the service list', async () => {
      const response = await fetch(`${QUERY}/api/services`);
      return ((await response.json()) as { data: string[] }).data;
    });
    return { trace, services, traceId, attempts };
  } finally {
    await collector.close();
  }
}

function servicesOf(trace: JaegerTrace): string[] {
  return [...new Set(trace.spans.map((s) => trace.processes[s.processID].serviceName))].sort();
}

function assertDeadLetterIsError(trace: JaegerTrace): void {
  const dead = trace.spans.filter((s) => tag(s, 'hoptrace.outcome') === 'dead_letter');
  assert.ok(dead.length > 0, 'the dead-lettered delivery is in the trace');
  for (const span of dead) {
    assert.equal(tag(span, 'otel.status_code'), 'ERROR', `${span.operationName} has error status`);
    assert.ok(tag(span, 'error.type'), 'and error.type');
  }
}

function assertNoClockSkewWarnings(trace: JaegerTrace): void {
  const warned = trace.spans.filter((s) => (s.warnings ?? []).some((w) => /clock skew/i.test(w)));
  assert.deepEqual(
    warned.map((s) => `${s.operationName}: ${(s.warnings ?? []).join('; ')}`),
    [],
    'no span carries a clock-skew adjustment (same host.id on every resource)',
  );
}

describe('demo -> collector --forward -> Jaeger', () => {
  it('bus: six services; order-3 spans all of them; its dead letter is an error', async (t) => {
    if (!(await jaeger(t))) return;
    const { trace, services } = await throughCollector(async () => {
      const result = await runOrdersDemo({ orders: 3, retryDelayMs: 1 });
      return result.correlationIds;
    });
    const six = ['billing', 'dlq-audit', 'email', 'inventory', 'shipping', 'storefront'];
    for (const s of six) assert.ok(services.includes(s), `Jaeger lists service ${s}`);
    assert.deepEqual(servicesOf(trace), six);
    assertDeadLetterIsError(trace);
    // Failed attempts that were retried are errors too.
    const retried = trace.spans.filter((s) => tag(s, 'hoptrace.outcome') === 'retry');
    assert.equal(retried.length, 2, 'email: attempts 1 and 2 failed and were retried');
    for (const span of retried) assert.equal(tag(span, 'otel.status_code'), 'ERROR');
    assertNoClockSkewWarnings(trace);
  });

  it('RabbitMQ: six services; the broker-side dead letter is an error', async (t) => {
    if (!(await jaeger(t))) return;
    const reachable = await requireServer(t, 'RabbitMQ', async () => {
      const amqplib = await import('amqplib');
      const conn = await amqplib.default.connect(amqpUrl());
      await conn.close();
    });
    if (!reachable) return;
    const { trace, services } = await throughCollector(async () => {
      const result = await runRabbitDemo({ url: amqpUrl(), orders: 3, prefix: `jaeger-${process.pid}` });
      return result.correlationIds;
    });
    const six = ['billing', 'dlq-audit', 'email', 'inventory', 'shipping', 'storefront'];
    for (const s of six) assert.ok(services.includes(s), `Jaeger lists service ${s}`);
    assert.deepEqual(servicesOf(trace), six);
    assertDeadLetterIsError(trace);
    assertNoClockSkewWarnings(trace);
  });

  it('Kafka: six services; the dead-lettered delivery is an error', async (t) => {
    if (!(await jaeger(t))) return;
    if (!(await requireKafka(t))) return;
    process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
    const { trace, services } = await throughCollector(async () => {
      const summary = await runKafkaDemo({ brokers: brokers(), messages: 3 });
      return summary.correlationIds;
    });
    const six = ['billing', 'dlq-audit', 'email', 'inventory', 'shipping', 'storefront'];
    for (const s of six) assert.ok(services.includes(s), `Jaeger lists service ${s}`);
    assert.deepEqual(servicesOf(trace), six);
    assertDeadLetterIsError(trace);
    assertNoClockSkewWarnings(trace);
  });
});

/**
 * Link mode: every consumer span is in its own trace; the origin's trace must still hold one span per
 * delivery attempt of the whole journey (second hops and the dead-letter consumer included), each a
 * synthetic `deliver` span linking to its consumer span and carrying the consumer's service.
 */
function assertWholeJourneyInOrigin(trace: JaegerTrace, traceId: string, attempts: JourneyAttempt[]): void {
  for (const a of attempts) {
    assert.notEqual(a.traceId, traceId, `link mode: ${a.service}'s delivery is in its own trace`);
    const span = trace.spans.find(
      (s) => s.operationName.startsWith('deliver ') && s.references.some((r) => r.spanID === a.spanId),
    );
    assert.ok(span, `the origin's trace holds ${a.service}'s delivery (attempt ${a.attempt}, ${a.outcome})`);
    assert.equal(trace.processes[span.processID].serviceName, a.service, 'named by its consumer service');
    assert.equal(tag(span, 'hoptrace.outcome'), a.outcome);
    if (a.outcome === 'dead_letter' || a.outcome === 'retry')
      assert.equal(tag(span, 'otel.status_code'), 'ERROR');
  }
  // A tree, not a forest: every synthetic span hangs on a span of the origin's trace.
  const ids = new Set(trace.spans.map((s) => s.spanID));
  for (const s of trace.spans.filter((x) => x.operationName.startsWith('deliver '))) {
    const parent = s.references.find((r) => r.refType === 'CHILD_OF');
    assert.ok(parent && ids.has(parent.spanID), `${s.operationName} hangs in the trace`);
  }
  assertNoClockSkewWarnings(trace);
}

describe('demo --link -> collector --forward -> Jaeger: the origin trace holds the whole journey', () => {
  it("bus: 7 deliveries of order-3 (retries, shipping's second hop, dlq-audit)", async (t) => {
    if (!(await jaeger(t))) return;
    const { trace, traceId, attempts } = await throughCollector(async () => {
      const result = await runOrdersDemo({ orders: 3, retryDelayMs: 1, linkMode: 'link' });
      return result.correlationIds;
    }, 7);
    assert.deepEqual(attempts.map((a) => a.service).sort(), [
      'billing',
      'dlq-audit',
      'email',
      'email',
      'email',
      'inventory',
      'shipping',
    ]);
    assertWholeJourneyInOrigin(trace, traceId, attempts);
  });

  it('RabbitMQ: the broker-side dead letter hangs under the rejected delivery', async (t) => {
    if (!(await jaeger(t))) return;
    const reachable = await requireServer(t, 'RabbitMQ', async () => {
      const amqplib = await import('amqplib');
      const conn = await amqplib.default.connect(amqpUrl());
      await conn.close();
    });
    if (!reachable) return;
    const { trace, traceId, attempts } = await throughCollector(async () => {
      const result = await runRabbitDemo({
        url: amqpUrl(),
        orders: 3,
        prefix: `jaeger-link-${process.pid}`,
        linkMode: 'link',
      });
      return result.correlationIds;
    }, 5);
    assert.deepEqual(attempts.map((a) => a.service).sort(), [
      'billing',
      'dlq-audit',
      'email',
      'inventory',
      'shipping',
    ]);
    assertWholeJourneyInOrigin(trace, traceId, attempts);
    const rejected = trace.spans.find((s) => tag(s, 'hoptrace.outcome') === 'dead_letter');
    const audit = trace.spans.find((s) => trace.processes[s.processID].serviceName === 'dlq-audit');
    assert.equal(
      audit?.references.find((r) => r.refType === 'CHILD_OF')?.spanID,
      rejected?.spanID,
      'dlq-audit hangs under the delivery that dead-lettered',
    );
  });

  it('Kafka: the dead-letter topic consumer hangs under the dead-letter send', async (t) => {
    if (!(await jaeger(t))) return;
    if (!(await requireKafka(t))) return;
    process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
    const { trace, traceId, attempts } = await throughCollector(async () => {
      const summary = await runKafkaDemo({ brokers: brokers(), messages: 3, linkMode: 'link' });
      return summary.correlationIds;
    }, 7);
    assert.deepEqual(attempts.map((a) => a.service).sort(), [
      'billing',
      'dlq-audit',
      'email',
      'email',
      'email',
      'inventory',
      'shipping',
    ]);
    assertWholeJourneyInOrigin(trace, traceId, attempts);
  });
});
