/**
 * Zero-code adoption on real servers: applications with no hoptrace code (amqp-connection-manager,
 * NestJS microservices, a CommonJS app) run with `node --import hoptrace/register`, and the same app
 * with hoptrace's instrumentations in `NodeSDK({ instrumentations })`. Spans go over OTLP/HTTP to a
 * test receiver; metrics are scraped from HOPTRACE_METRICS_PORT.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { SpanRecord } from '../../../collector/types.js';
import {
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_SYSTEM,
  HEADER_CORRELATION_ID,
  HEADER_PUBLISHED_AT,
  METRIC_CONSUMED_MESSAGES,
  METRIC_SENT_MESSAGES,
} from '../../../instrumentation/core/semconv.js';
import { requireServer, stackEndpoint, stackRequired } from '../../helpers/env.js';
import { startTestReceiver, type TestReceiver } from '../../helpers/otlp-receiver.js';
import { fetchWithAuth, uniqueName } from '../../helpers/stack.js';
import { requirePubSub } from '../pubsub/helpers.js';
import { createPrivateStack, type PrivateStack } from '../reliability/private-stack.js';
import { type AppLine, fixture, startApp } from './app-process.js';

const amqpUrl = stackEndpoint('HOPTRACE_AMQP_URL');
const brokers = stackEndpoint('HOPTRACE_KAFKA_BROKERS');
const stackOff = ['off', '0', 'false'].includes((process.env.HOPTRACE_STACK ?? '').toLowerCase());
const REGISTER = '--import=hoptrace/register';

function otelEnv(receiver: TestReceiver, serviceName: string): NodeJS.ProcessEnv {
  return {
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url,
    OTEL_SERVICE_NAME: serviceName,
    OTEL_BSP_SCHEDULE_DELAY: '50',
    HOPTRACE_METRICS_PORT: '',
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Sum of a metric's samples whose labels include `match`, from Prometheus text. */
function metricSum(text: string, name: string, match: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(match).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function createTopic(topic: string): Promise<void> {
  const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

const bySystem = (spans: SpanRecord[], system: string, kind: SpanRecord['kind']) =>
  spans.filter((s) => s.attributes[ATTR_MESSAGING_SYSTEM] === system && s.kind === kind);

/** What two runs of one app must agree on: each span's kind, name and attribute names, sorted. */
function spanShapes(spans: SpanRecord[], queue: string): string[] {
  return spans
    .map((s) => `${s.kind} ${s.name.replace(queue, 'QUEUE')} [${Object.keys(s.attributes).sort().join(',')}]`)
    .sort();
}

describe('node --import hoptrace/register', { timeout: 300_000 }, () => {
  let receiver: TestReceiver;
  before(async () => {
    receiver = await startTestReceiver();
  });
  after(() => receiver?.close());

  it('sets up nothing and patches nothing while the application loads no client', async () => {
    const script = `
      const { trace } = await import('@opentelemetry/api');
      // A provider can still be registered: hoptrace took no global.
      const free = trace.setGlobalTracerProvider({ getTracer: () => trace.getTracer('x') });
      console.log(JSON.stringify({ event: 'probe', free }));`;
    const app = startApp([REGISTER, '--input-type=module', '-e', script], otelEnv(receiver, 'idle'));
    const line = await app.waitFor((l) => l.event === 'probe');
    assert.equal(line.free, true, 'no tracer provider registered by hoptrace/register');
    assert.equal(await app.exited(), 0, app.stderr());
  });

  it('amqp-connection-manager app: contract headers, exact spans and metrics, across a broker restart', {
    skip: stackOff && !stackRequired() && 'HOPTRACE_STACK=off',
  }, async () => {
    const stack: PrivateStack = createPrivateStack('register-restart', -16500);
    try {
      await stack.start('rabbitmq');
      const metricsPort = await freePort();
      const queue = uniqueName('register-manager');
      const app = startApp([REGISTER, fixture('manager-app.js')], {
        ...otelEnv(receiver, 'manager-app'),
        APP_AMQP_URL: stack.endpoints.HOPTRACE_AMQP_URL,
        APP_QUEUE: queue,
        HOPTRACE_METRICS_PORT: String(metricsPort),
      });
      try {
        await app.waitFor((l) => l.event === 'ready', 30_000, 'ready');
        app.send('send 5');
        await app.waitFor((l) => l.event === 'consumed' && l.n === 5, 30_000, 'message 5');
        await app.waitFor((l) => l.event === 'sent' && l.total === 5, 30_000, 'confirms');

        await stack.stop('rabbitmq');
        await app.waitFor((l) => l.event === 'disconnected', 30_000, 'disconnected');
        await stack.start('rabbitmq');
        await app.waitFor(
          (l) => l.event === 'connected' && app.lines.some((x) => x.event === 'disconnected'),
          60_000,
          'reconnected',
        );
        app.send('send 5');
        await app.waitFor((l) => l.event === 'consumed' && l.n === 10, 60_000, 'message 10');
        await app.waitFor((l) => l.event === 'sent' && l.total === 10, 30_000, 'confirms');

        const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        assert.equal(metricSum(metrics, METRIC_SENT_MESSAGES, { messaging_system: 'rabbitmq' }), 10);
        assert.equal(metricSum(metrics, METRIC_CONSUMED_MESSAGES, { messaging_system: 'rabbitmq' }), 10);
        app.send('exit');
        assert.equal(await app.exited(), 0, app.stderr());
      } finally {
        app.kill();
      }

      const consumed = app.lines.filter((l) => l.event === 'consumed');
      assert.deepEqual(
        consumed.map((l) => l.n),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      );
      for (const line of consumed) {
        const headers = line.headers as Record<string, unknown>;
        assert.match(String(headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
        assert.ok(headers[HEADER_CORRELATION_ID], `message ${line.n} has a correlation ID`);
        assert.match(String(headers[HEADER_PUBLISHED_AT]), /^\d{13}$/);
      }
      const spans = (await receiver.waitForSpans(20, 15_000)).filter((s) => s.serviceName === 'manager-app');
      const producers = bySystem(spans, 'rabbitmq', 'producer');
      const consumers = bySystem(spans, 'rabbitmq', 'consumer');
      assert.equal(producers.length, 10, 'one publish span per message');
      assert.equal(consumers.length, 10, 'one process span per message');
      for (const line of consumed) {
        const headers = line.headers as Record<string, unknown>;
        const traceId = String(headers.traceparent).split('-')[1];
        assert.equal(line.traceId, traceId, `handler of message ${line.n} runs in the producer's trace`);
        const consumer = consumers.find((s) => s.traceId === traceId);
        assert.ok(consumer, `process span of message ${line.n}`);
        assert.equal(
          consumer.attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID],
          headers[HEADER_CORRELATION_ID],
        );
      }
    } finally {
      await stack.destroy();
    }
  });

  it('gives the same spans as hoptrace instrumentations in NodeSDK({ instrumentations })', async (t) => {
    if (
      !(await requireServer(t, 'RabbitMQ', () =>
        fetchWithAuth(`${stackEndpoint('HOPTRACE_RABBITMQ_MANAGEMENT_URL')}/api/overview`),
      ))
    )
      return;
    const shapes: string[][] = [];
    for (const [service, args] of [
      ['sdk-compare-register', [REGISTER]],
      ['sdk-compare-nodesdk', [`--import=${fixture('node-sdk-preload.js')}`]],
    ] as const) {
      const queue = uniqueName('register-compare');
      const app = startApp([...args, fixture('manager-app.js')], {
        ...otelEnv(receiver, service),
        APP_AMQP_URL: amqpUrl,
        APP_QUEUE: queue,
      });
      await app.waitFor((l) => l.event === 'ready', 30_000, 'ready');
      app.send('send 3');
      await app.waitFor((l) => l.event === 'consumed' && l.n === 3, 30_000, 'message 3');
      await app.waitFor((l) => l.event === 'sent' && l.total === 3, 30_000, 'confirms');
      app.send('exit');
      assert.equal(await app.exited(), 0, app.stderr());
      const spans = await waitForService(receiver, service, 6);
      shapes.push(spanShapes(spans, queue));
    }
    assert.equal(shapes[0].length, 6);
    assert.deepEqual(shapes[1], shapes[0]);
  });

  it('NestJS microservices (RMQ and Kafka transports): emit and @EventPattern share trace and correlation ID', async (t) => {
    if (
      !(await requireServer(t, 'RabbitMQ', () =>
        fetchWithAuth(`${stackEndpoint('HOPTRACE_RABBITMQ_MANAGEMENT_URL')}/api/overview`),
      ))
    )
      return;
    if (!(await requireServer(t, 'Kafka', () => createTopic(uniqueName('register-probe'))))) return;
    const topic = uniqueName('register-nest');
    await createTopic(topic);
    const app = startApp([REGISTER, fixture('nest-app.js')], {
      ...otelEnv(receiver, 'nest-app'),
      APP_AMQP_URL: amqpUrl,
      APP_QUEUE: uniqueName('register-nest'),
      APP_KAFKA_BROKERS: brokers,
      APP_TOPIC: topic,
    });
    assert.equal(await app.exited(90_000), 0, `${JSON.stringify(app.lines)}\n${app.stderr()}`);
    const spans = await waitForService(receiver, 'nest-app', 4);
    for (const [transport, system] of [
      ['rmq', 'rabbitmq'],
      ['kafka', 'kafka'],
    ] as const) {
      const handled = app.lines.find((l) => l.event === 'handled' && l.transport === transport) as AppLine;
      assert.ok(handled, `${transport} handler ran`);
      const [producer] = bySystem(spans, system, 'producer');
      const [consumer] = bySystem(spans, system, 'consumer');
      assert.ok(producer && consumer, `${system}: a producer and a consumer span`);
      assert.equal(bySystem(spans, system, 'producer').length, 1);
      assert.equal(bySystem(spans, system, 'consumer').length, 1);
      assert.equal(consumer.traceId, producer.traceId, `${system}: one trace`);
      assert.equal(consumer.parentSpanId, producer.spanId);
      assert.equal(handled.traceId, producer.traceId, `${system}: the handler runs in the trace`);
      const correlation = producer.attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID];
      assert.ok(correlation);
      assert.equal(consumer.attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID], correlation);
      assert.equal(handled.correlationId, correlation, `${system}: the handler got the correlation header`);
    }
  });

  it('CommonJS application; an explicit SDK registered first is joined; a second registration traces once', async (t) => {
    if (
      !(await requireServer(t, 'RabbitMQ', () =>
        fetchWithAuth(`${stackEndpoint('HOPTRACE_RABBITMQ_MANAGEMENT_URL')}/api/overview`),
      ))
    )
      return;
    if (!(await requireServer(t, 'Kafka', () => createTopic(uniqueName('register-probe'))))) return;
    const topic = uniqueName('register-cjs');
    await createTopic(topic);
    // hoptrace/register, then the application's NodeSDK preload listing hoptrace's instrumentations again.
    const app = startApp([REGISTER, `--import=${fixture('node-sdk-preload.js')}`, fixture('plain-app.cjs')], {
      ...otelEnv(receiver, 'plain-app'),
      APP_SDK_SERVICE_NAME: 'plain-app-sdk',
      APP_AMQP_URL: amqpUrl,
      APP_QUEUE: uniqueName('register-cjs'),
      APP_KAFKA_BROKERS: brokers,
      APP_TOPIC: topic,
    });
    assert.equal(await app.exited(60_000), 0, `${JSON.stringify(app.lines)}\n${app.stderr()}`);
    assert.equal(
      app.lines.find((l) => l.event === 'kafka-instance')?.isKafka,
      true,
      'instanceof Kafka holds',
    );
    // The application's SDK (its own service name) exported every span: hoptrace joined it.
    const spans = await waitForService(receiver, 'plain-app-sdk', 4);
    assert.equal(receiver.spans.filter((s) => s.serviceName === 'plain-app').length, 0);
    assert.doesNotMatch(app.stderr(), /duplicate registration/, 'joining registers nothing twice');
    for (const system of ['rabbitmq', 'kafka']) {
      assert.equal(bySystem(spans, system, 'producer').length, 1, `${system}: one producer span`);
      assert.equal(bySystem(spans, system, 'consumer').length, 1, `${system}: one consumer span`);
      const consumed = app.lines.find(
        (l) => l.event === 'consumed' && l.transport === (system === 'rabbitmq' ? 'amqp' : 'kafka'),
      );
      const headers = consumed?.headers as Record<string, string>;
      assert.ok(headers[HEADER_CORRELATION_ID], `${system}: correlation header`);
      assert.equal(consumed?.traceId, bySystem(spans, system, 'producer')[0].traceId);
    }
  });

  it('steps aside for OpenTelemetry contrib amqplib/kafkajs instrumentations: one span per message, and says so', async (t) => {
    if (
      !(await requireServer(t, 'RabbitMQ', () =>
        fetchWithAuth(`${stackEndpoint('HOPTRACE_RABBITMQ_MANAGEMENT_URL')}/api/overview`),
      ))
    )
      return;
    if (!(await requireServer(t, 'Kafka', () => createTopic(uniqueName('register-probe'))))) return;
    const topic = uniqueName('register-contrib');
    await createTopic(topic);
    const app = startApp([REGISTER, `--import=${fixture('contrib-preload.js')}`, fixture('plain-app.cjs')], {
      ...otelEnv(receiver, 'contrib-app'),
      APP_AMQP_URL: amqpUrl,
      APP_QUEUE: uniqueName('register-contrib'),
      APP_KAFKA_BROKERS: brokers,
      APP_TOPIC: topic,
    });
    assert.equal(await app.exited(60_000), 0, `${JSON.stringify(app.lines)}\n${app.stderr()}`);
    const spans = await waitForService(receiver, 'contrib-app', 4);
    for (const system of ['rabbitmq', 'kafka']) {
      assert.equal(bySystem(spans, system, 'producer').length, 1, `${system}: one producer span`);
      assert.equal(bySystem(spans, system, 'consumer').length, 1, `${system}: one consumer span`);
      assert.ok(
        spans.every((s) => s.attributes['hoptrace.service.name'] === undefined),
        "the spans are contrib's",
      );
    }
    assert.match(
      app.stderr(),
      /@opentelemetry\/instrumentation-amqplib is active: hoptrace leaves this client to it/,
    );
    assert.match(app.stderr(), /@opentelemetry\/instrumentation-kafkajs is active/);
  });
});

describe('node --import hoptrace/register with the AWS SDK', { timeout: 120_000 }, () => {
  it("an sqs-consumer application: each handler in its sender's trace, the caller's attributes as asked", async (t) => {
    const endpoint = stackEndpoint('HOPTRACE_SQS_ENDPOINT');
    if (!(await requireServer(t, 'the SQS emulator', () => fetch(`${endpoint}/?Action=ListQueues`)))) return;
    const receiver = await startTestReceiver();
    try {
      const app = startApp([REGISTER, fixture('sqs-consumer-app.js')], {
        ...otelEnv(receiver, 'sqs-app'),
        APP_SQS_ENDPOINT: endpoint,
        APP_QUEUE: uniqueName('register-sqs'),
        APP_MESSAGES: '3',
      });
      assert.equal(await app.exited(60_000), 0, `${JSON.stringify(app.lines)}\n${app.stderr()}`);
      const spans = await waitForService(receiver, 'sqs-app', 6);
      const producers = bySystem(spans, 'aws_sqs', 'producer');
      const processes = bySystem(spans, 'aws_sqs', 'consumer');
      assert.equal(producers.length, 3, 'one send span per message');
      assert.equal(processes.length, 3, 'one process span per message');
      const handled = app.lines.filter((l) => l.event === 'handled');
      assert.equal(handled.length, 3);
      for (const line of handled) {
        assert.equal(line.tenant, 'acme');
        // sqs-consumer asked for `tenant` only and gets exactly that back.
        assert.deepEqual(line.attributeNames, ['tenant']);
        const producer = producers.find((p) => p.traceId === line.traceId);
        assert.ok(producer, `handler of ${line.body} runs in a sender's trace`);
        const process = processes.find((p) => p.traceId === line.traceId);
        assert.equal(process?.parentSpanId, producer.spanId);
      }
      assert.equal(new Set(handled.map((l) => l.traceId)).size, 3, 'one trace per message');
    } finally {
      await receiver.close();
    }
  });
});

describe('node --import hoptrace/register with Google Pub/Sub', { timeout: 120_000 }, () => {
  it("publish and subscription handler share the trace; the caller's attributes arrive unchanged", async (t) => {
    const host = stackEndpoint('HOPTRACE_PUBSUB_EMULATOR_HOST');
    if (!(await requirePubSub(t))) return;
    const receiver = await startTestReceiver();
    try {
      const app = startApp([REGISTER, fixture('pubsub-app.js')], {
        ...otelEnv(receiver, 'pubsub-app'),
        PUBSUB_EMULATOR_HOST: host,
        METADATA_SERVER_DETECTION: 'none',
        APP_TOPIC: uniqueName('register-pubsub'),
      });
      assert.equal(await app.exited(60_000), 0, `${JSON.stringify(app.lines)}\n${app.stderr()}`);
      const spans = await waitForService(receiver, 'pubsub-app', 2);
      const [producer] = bySystem(spans, 'gcp_pubsub', 'producer');
      const [consumer] = bySystem(spans, 'gcp_pubsub', 'consumer');
      assert.ok(producer && consumer, 'a send and a process span');
      assert.equal(consumer.traceId, producer.traceId);
      const handled = app.lines.find((l) => l.event === 'handled') as AppLine;
      assert.equal(handled.traceId, producer.traceId, "the handler runs in the publisher's trace");
      assert.equal((handled.attributes as Record<string, string>).tenant, 'acme');
      assert.doesNotMatch(app.stderr(), /could not patch/);
    } finally {
      await receiver.close();
    }
  });
});

describe('node --import hoptrace/register with BullMQ', { timeout: 120_000 }, () => {
  it('a job that fails once: one trace, attempts 1 and 2 (retry, ack); a flow in one trace', async (t) => {
    const url = stackEndpoint('HOPTRACE_REDIS_URL');
    const { Redis } = await import('ioredis');
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    const reachable = await requireServer(t, 'Redis', () => probe.connect().then(() => probe.ping()));
    probe.disconnect();
    if (!reachable) return;
    const receiver = await startTestReceiver();
    try {
      const app = startApp([REGISTER, fixture('bullmq-app.js')], {
        ...otelEnv(receiver, 'bullmq-app'),
        APP_REDIS_URL: url,
        APP_QUEUE: uniqueName('register-bullmq'),
      });
      assert.equal(await app.exited(60_000), 0, `${JSON.stringify(app.lines)}\n${app.stderr()}`);
      const attempts = app.lines.filter((l) => l.event === 'attempt');
      assert.equal(attempts.length, 2);
      const jobTrace = attempts[0].traceId as string;
      assert.ok(jobTrace, 'the processor runs in a trace');
      assert.equal(attempts[1].traceId, jobTrace, "each attempt runs in the job's trace");
      const spans = await waitForService(receiver, 'bullmq-app', 7);
      const jobSpans = spans.filter((s) => s.traceId === jobTrace);
      assert.equal(bySystem(jobSpans, 'bullmq', 'producer').length, 1, 'one add span');
      const consumers = bySystem(jobSpans, 'bullmq', 'consumer').sort(
        (a, b) =>
          Number(a.attributes['hoptrace.delivery.attempt']) -
          Number(b.attributes['hoptrace.delivery.attempt']),
      );
      assert.deepEqual(
        consumers.map((s) => [s.attributes['hoptrace.delivery.attempt'], s.attributes['hoptrace.outcome']]),
        [
          [1, 'retry'],
          [2, 'ack'],
        ],
      );
      // The flow: the digest and both parts run in one trace of their own (BullMQ stores no context on
      // flow nodes without opts; the instrumentation passes the tree through telemetry.flow()).
      const flowJobs = app.lines.filter((l) => l.event === 'flow-job');
      assert.deepEqual(flowJobs.map((l) => l.job).sort(), ['digest', 'part', 'part']);
      const flowTrace = flowJobs[0].traceId as string;
      assert.ok(flowTrace && flowTrace !== jobTrace, 'the flow has its own trace');
      assert.deepEqual(
        flowJobs.map((l) => l.traceId),
        [flowTrace, flowTrace, flowTrace],
        "every job of the flow runs in the flow's trace",
      );
      assert.equal(
        bySystem(
          spans.filter((s) => s.traceId === flowTrace),
          'bullmq',
          'consumer',
        ).length,
        3,
      );
    } finally {
      await receiver.close();
    }
  });
});

async function waitForService(receiver: TestReceiver, service: string, count: number): Promise<SpanRecord[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const spans = receiver.spans.filter((s) => s.serviceName === service);
    if (spans.length >= count) {
      // Anything more than expected shows up within a few export intervals.
      await new Promise((resolve) => setTimeout(resolve, 300));
      return receiver.spans.filter((s) => s.serviceName === service);
    }
    if (Date.now() > deadline) throw new Error(`${service}: ${spans.length} spans, expected ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
