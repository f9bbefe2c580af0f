/**
 * The end-to-end scenario: one instrumented "shop" (RabbitMQ and Kafka through hoptrace's wrappers,
 * metrics served on a loopback port) and a real collector (OTLP spans in, RabbitMQ management and
 * Kafka lag monitors, /metrics), both scraped by the stack's Prometheus, under a steady load that
 * makes every dashboard panel have data and the dead-letter and lag alerts fire:
 *
 * - `checkout` publishes an order every tick to a RabbitMQ exchange and to two Kafka topics;
 * - RabbitMQ `billing` (queue `<p>.work`, dead-letter queue `<p>.work.dlq` that nobody reads) rejects
 *   every 4th order into the DLQ, requeues every 5th once (a redelivery) and acks the rest;
 * - every 10th order is published twice with one message ID (a producer retry: a duplicate);
 * - every 20th tick an uninstrumented producer writes to the queue (an orphan delivery);
 * - Kafka `fraud` fails every 10th payment: one retry, then hoptrace dead-letters it to `<topic>.dlq`
 *   (handler errors, redeliveries, wrapper-counted dead letters);
 * - Kafka `shipping` consumes for a while, then is paused with messages still arriving: lag grows,
 *   offsets stop (lag status STALL), nothing is processed, the new shipments stay unconsumed;
 * - one malformed span is posted to the collector (a dropped span).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import amqplib, { type ChannelModel } from 'amqplib';
import { type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { type Collector, startCollector } from '../../../collector/start.js';
import { instrumentAmqp } from '../../../instrumentation/amqp/index.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { renderMetrics } from '../../../instrumentation/core/metrics-format.js';
import { instrumentKafka } from '../../../instrumentation/kafka/index.js';
import { stackEndpoint } from '../../helpers/env.js';
import { registerScrapeTarget } from '../../helpers/stack.js';
import { installContextManager } from '../../helpers/tracing.js';

/** Label every series of this run carries (set on the scrape targets), and the two roles. */
export const RUN_LABEL = 'hoptrace_e2e';
export const ROLE_LABEL = 'hoptrace_role';

export interface ScenarioNames {
  exchange: string;
  queue: string;
  deadLetterQueue: string;
  payments: string;
  paymentsDeadLetters: string;
  shipments: string;
  fraudGroup: string;
  shippingGroup: string;
}

export interface ScenarioCounts {
  ticks: number;
  rejected: number;
  requeued: number;
  duplicatesPublished: number;
  orphansPublished: number;
  fraudFailures: number;
  shippingProcessed: number;
  /** Epoch ms when the shipping consumer was paused. */
  shippingPausedAt?: number;
  droppedSpansPosted: number;
  /** Ticks that failed (a broker call threw), with the last error, for diagnostics. */
  loadErrors: number;
  lastLoadError?: string;
}

export interface Scenario {
  run: string;
  names: ScenarioNames;
  /** Prometheus label matchers (no braces) of the service's and the collector's targets. */
  selectors: { services: string; collector: string };
  collector: Collector;
  counts: ScenarioCounts;
  /** Epoch seconds when the load started. */
  startedAt: number;
  /** Every span the service finished (in-memory copy of what went to the collector). */
  spans(): ReadableSpan[];
  stop(): Promise<void>;
}

export interface ScenarioOptions {
  /** Delay between load ticks; default 100 ms. */
  tickMs?: number;
  /** Shipping consumes this long after its first message, then is paused; default 4 s. */
  pauseShippingAfterMs?: number;
}

const KAFKA_CONSUMER = {
  sessionTimeout: 6000,
  heartbeatInterval: 500,
  maxWaitTimeInMs: 100,
  retry: { initialRetryTime: 100, retries: 10 },
};

/** Serves a registry the way a service does: OpenMetrics (with exemplars) when the scraper asks for it. */
async function serveMetrics(registry: ReturnType<typeof createOpenMetricsRegistry>): Promise<Server> {
  const server = createServer((req, res) => {
    renderMetrics(registry, req.headers.accept).then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType });
        res.end(body);
      },
      (err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function address(server: Server): string {
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A span the collector must reject (all-zero IDs): counted in `hoptrace_collector_spans_dropped_total`. */
async function postMalformedSpan(collector: Collector): Promise<void> {
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'broken-exporter' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: '00000000000000000000000000000000',
                spanId: '0000000000000000',
                name: 'broken',
                kind: 4,
                startTimeUnixNano: '1',
                endTimeUnixNano: '2',
              },
            ],
          },
        ],
      },
    ],
  };
  const response = await fetch(`${collector.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200 || !text.includes('rejected'))
    throw new Error(`the collector answered the malformed span with ${response.status}: ${text}`);
}

export async function startScenario(options: ScenarioOptions = {}): Promise<Scenario> {
  const tickMs = options.tickMs ?? 100;
  const pauseAfterMs = options.pauseShippingAfterMs ?? 4000;
  const run = `e2e-${randomBytes(5).toString('hex')}`;
  const p = `hoptrace-${run}`;
  const names: ScenarioNames = {
    exchange: `${p}.orders`,
    queue: `${p}.work`,
    deadLetterQueue: `${p}.work.dlq`,
    payments: `${p}.payments`,
    paymentsDeadLetters: `${p}.payments.dlq`,
    shipments: `${p}.shipments`,
    fraudGroup: `${p}.fraud`,
    shippingGroup: `${p}.shipping`,
  };
  const counts: ScenarioCounts = {
    ticks: 0,
    rejected: 0,
    requeued: 0,
    duplicatesPublished: 0,
    orphansPublished: 0,
    fraudFailures: 0,
    shippingProcessed: 0,
    droppedSpansPosted: 0,
    loadErrors: 0,
  };
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse())
      await Promise.resolve()
        .then(cleanup)
        .catch(() => undefined);
  };

  try {
    const brokers = stackEndpoint('HOPTRACE_KAFKA_BROKERS').split(',');

    // --- the collector, watching both brokers, scraped as role "collector"
    const collector = await startCollector({
      port: 0,
      rabbitmq: { managementUrl: stackEndpoint('HOPTRACE_RABBITMQ_MANAGEMENT_URL'), intervalMs: 1000 },
      kafka: { brokers, groups: [names.fraudGroup, names.shippingGroup], intervalMs: 1000 },
      // Short windows so fan-out, unconsumed and orphans are decided within seconds.
      limits: { linkWindowMs: 2000, unconsumedDeadlineMs: 3000, sweepIntervalMs: 200 },
    });
    cleanups.push(() => collector.close());

    // --- the service's telemetry: spans to the collector over OTLP and to memory; metrics on a port
    installContextManager();
    const memory = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'hoptrace-e2e-shop' }),
      spanProcessors: [
        new SimpleSpanProcessor({ exporter: memory }),
        new BatchSpanProcessor({
          exporter: new OTLPTraceExporter({ url: `${collector.url}/v1/traces` }),
          scheduledDelayMillis: 200,
        }),
      ],
    });
    cleanups.push(() => provider.shutdown());
    const registry = createOpenMetricsRegistry();
    const metricsServer = await serveMetrics(registry);
    cleanups.push(() => new Promise((resolve) => metricsServer.close(resolve)));

    const selectors = {
      services: `${RUN_LABEL}="${run}", ${ROLE_LABEL}="service"`,
      collector: `${RUN_LABEL}="${run}", ${ROLE_LABEL}="collector"`,
    };
    cleanups.push(
      await registerScrapeTarget(address(metricsServer), { [RUN_LABEL]: run, [ROLE_LABEL]: 'service' }),
    );
    cleanups.push(
      await registerScrapeTarget(collector.url.replace('http://', ''), {
        [RUN_LABEL]: run,
        [ROLE_LABEL]: 'collector',
      }),
    );
    const telemetry = (serviceName: string) => ({ serviceName, tracerProvider: provider, registry });

    // --- RabbitMQ: topology, the billing consumer, the checkout publisher, a raw (uninstrumented) one
    const amqpUrl = stackEndpoint('HOPTRACE_AMQP_URL');
    const connections: ChannelModel[] = [];
    const connect = async () => {
      const connection = await amqplib.connect(amqpUrl);
      connections.push(connection);
      return connection;
    };
    cleanups.push(() => Promise.allSettled(connections.map((c) => c.close())));
    const billingConnection = instrumentAmqp(await connect(), telemetry('billing'));
    const checkoutConnection = instrumentAmqp(await connect(), telemetry('checkout'));
    const rawChannel = await (await connect()).createChannel();
    const billing = await billingConnection.createChannel();
    await billing.assertExchange(names.exchange, 'direct', { durable: false, autoDelete: false });
    await billing.assertQueue(names.deadLetterQueue, { durable: false });
    await billing.assertQueue(names.queue, {
      durable: false,
      deadLetterExchange: '',
      deadLetterRoutingKey: names.deadLetterQueue,
    });
    await billing.bindQueue(names.queue, names.exchange, 'order');
    cleanups.push(async () => {
      await rawChannel.deleteQueue(names.queue);
      await rawChannel.deleteQueue(names.deadLetterQueue);
      await rawChannel.deleteExchange(names.exchange);
    });
    await billing.prefetch(20);
    await billing.consume(names.queue, (msg) => {
      if (!msg) return;
      const { n } = JSON.parse(msg.content.toString()) as { n: number };
      if (n > 0 && n % 4 === 0) {
        counts.rejected += 1;
        billing.reject(msg, false); // -> the dead-letter queue
      } else if (n % 5 === 1 && !msg.fields.redelivered) {
        counts.requeued += 1;
        billing.nack(msg, false, true); // comes back once, redelivered
      } else {
        billing.ack(msg);
      }
    });
    const checkout = await checkoutConnection.createChannel();

    // --- Kafka: topics, the fraud and shipping groups, the checkout producer
    const rawKafka = new Kafka({
      clientId: 'hoptrace-e2e',
      brokers,
      logLevel: logLevel.NOTHING,
      retry: { initialRetryTime: 100, retries: 5 },
    });
    const admin = rawKafka.admin();
    await admin.connect();
    cleanups.push(async () => {
      await admin.deleteGroups([names.fraudGroup, names.shippingGroup]).catch(() => undefined);
      await admin.deleteTopics({ topics: [names.payments, names.paymentsDeadLetters, names.shipments] });
      await admin.disconnect();
    });
    await admin.createTopics({
      topics: [
        { topic: names.payments, numPartitions: 1 },
        { topic: names.paymentsDeadLetters, numPartitions: 1 },
        { topic: names.shipments, numPartitions: 2 },
      ],
      waitForLeaders: true,
    });
    const kafkaFor = (serviceName: string, deadLetter = false) =>
      instrumentKafka(rawKafka, {
        ...telemetry(serviceName),
        ...(deadLetter ? { deadLetter: { maxAttempts: 2 } } : {}),
      });
    const kafkaClients: (Consumer | Producer)[] = [];
    cleanups.push(() => Promise.allSettled(kafkaClients.map((c) => c.disconnect())));

    const fraud = kafkaFor('fraud-check', true).consumer({ groupId: names.fraudGroup, ...KAFKA_CONSUMER });
    kafkaClients.push(fraud);
    await fraud.connect();
    await fraud.subscribe({ topics: [names.payments], fromBeginning: true });
    await fraud.run({
      eachMessage: async ({ message }) => {
        const { n } = JSON.parse(String(message.value)) as { n: number };
        // Rare enough that the group keeps up: each failure costs kafkajs a retry with a re-fetch.
        if (n % 10 === 0) {
          counts.fraudFailures += 1;
          throw new Error(`payment ${n} needs manual review`);
        }
      },
    });

    let firstShipmentAt: number | undefined;
    const shipping = kafkaFor('shipping').consumer({ groupId: names.shippingGroup, ...KAFKA_CONSUMER });
    kafkaClients.push(shipping);
    await shipping.connect();
    await shipping.subscribe({ topics: [names.shipments], fromBeginning: true });
    await shipping.run({
      eachMessage: async () => {
        counts.shippingProcessed += 1;
        firstShipmentAt ??= Date.now();
        if (Date.now() - firstShipmentAt >= pauseAfterMs) {
          // Paused with the group still joined: its committed offsets stop while messages arrive.
          shipping.pause([{ topic: names.shipments }]);
          counts.shippingPausedAt ??= Date.now();
        }
      },
    });

    const producer = kafkaFor('checkout').producer();
    kafkaClients.push(producer);
    await producer.connect();

    // --- the load
    let stopped = false;
    const startedAt = Date.now() / 1000;
    const load = (async () => {
      while (!stopped) {
        const n = ++counts.ticks;
        const order = Buffer.from(JSON.stringify({ n }));
        const messageId = `${run}-order-${n}`;
        try {
          checkout.publish(names.exchange, 'order', order, { messageId });
          if (n % 10 === 5) {
            counts.duplicatesPublished += 1;
            checkout.publish(names.exchange, 'order', order, { messageId }); // a producer retry
          }
          if (n % 20 === 0) {
            counts.orphansPublished += 1;
            rawChannel.sendToQueue(names.queue, Buffer.from(JSON.stringify({ n: -n })));
          }
          const messages = [{ key: String(n), value: order }];
          await producer.send({ topic: names.payments, messages });
          await producer.send({ topic: names.shipments, messages });
        } catch (err) {
          counts.loadErrors += 1;
          counts.lastLoadError = (err as Error).message;
        }
        await sleep(tickMs);
      }
    })();
    cleanups.push(async () => {
      stopped = true;
      await load.catch(() => undefined);
    });

    await postMalformedSpan(collector);
    counts.droppedSpansPosted += 1;

    return {
      run,
      names,
      selectors,
      collector,
      counts,
      startedAt,
      spans: () => memory.getFinishedSpans(),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
