import { createServer, type Server } from 'node:http';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { renderJourney } from '../../collector/journey/render.js';
import { Linker } from '../../collector/linker/linker.js';
import { fromReadableSpan } from '../../collector/otlp/readable-span.js';
import { type Collector, startCollector } from '../../collector/start.js';
import type { SpanRecord } from '../../collector/types.js';
import { metricsRegistry } from '../../instrumentation/core/metrics.js';
import { renderMetrics } from '../../instrumentation/core/metrics-format.js';
import { type Command, UsageError } from '../command.js';
import { createOrdersSystem, runOrdersDemo } from '../demo/inproc.js';
import { setupTelemetry } from '../demo/telemetry.js';
import { brokersFlag, integerFlag, parseFlags, redactUrl, urlFlag } from '../flags.js';
import { metricsSummary } from '../metrics-summary.js';

const HELP = `Usage: hoptrace demo [--broker inproc|rabbitmq|kafka|bullmq|sqs|pubsub] [--link] [flags]

Runs an orders flow and prints each order's journey: publish -> deliveries -> outcomes, retries,
dead letters and latencies, then a metrics summary. The default broker, inproc, needs no server:
order.placed fans out to billing, inventory and email on hoptrace's in-process bus; email fails for
every third order, is retried and finally dead-lettered; billing publishes payment.processed for shipping.

Flags:
  --broker B          inproc (default), rabbitmq, kafka, bullmq, sqs or pubsub (needs a server: see docs/stack.md)
  --orders N          orders to place (default 3)
  --link              consumers in link mode: each delivery its own trace, linked to its publish (the
                      collector's synthetic spans put the whole flow back into the origin's trace)
  --otlp URL          also export spans over OTLP/HTTP, e.g. http://127.0.0.1:4318 (Jaeger, hoptrace collector)
  --metrics-port N    serve /metrics on 127.0.0.1:N and keep placing an order every second until Ctrl-C
  --ui                run a collector in process, feed it the demo's spans and keep it up until Ctrl-C:
                      open the URL it prints for the flow map and each journey (inproc: an order a second)
  --ui-port N         the collector's port for --ui (default 4318, a free one when that is taken)
  --jaeger-url URL    with --ui: link journeys to their traces in this Jaeger UI (with --otlp to Jaeger)
  --amqp-url URL      RabbitMQ URL for --broker rabbitmq (default $HOPTRACE_AMQP_URL or amqp://guest:guest@127.0.0.1:35672)
  --brokers HOSTS     Kafka brokers for --broker kafka (default $HOPTRACE_KAFKA_BROKERS or 127.0.0.1:39092)
  --redis-url URL     Redis for --broker bullmq (default $HOPTRACE_REDIS_URL or redis://127.0.0.1:36379)
  --sqs-endpoint URL  SQS/SNS endpoint for --broker sqs (default $HOPTRACE_SQS_ENDPOINT or http://127.0.0.1:34566; "aws" for AWS itself)
  --pubsub-emulator H Pub/Sub emulator host:port for --broker pubsub (default $PUBSUB_EMULATOR_HOST,
                      $HOPTRACE_PUBSUB_EMULATOR_HOST or 127.0.0.1:38085); "none": the real service
  --pubsub-project P  Google Cloud project for --broker pubsub (default hoptrace-demo)
  -h, --help          this text

Examples:
  npx hoptrace demo
  npx hoptrace demo --orders 6 --otlp http://127.0.0.1:4318
  npx hoptrace demo --metrics-port 9464      # then scrape http://127.0.0.1:9464/metrics
  npx hoptrace demo --ui                     # then open http://127.0.0.1:4318/`;

interface DemoFlags {
  broker: 'inproc' | 'rabbitmq' | 'kafka' | 'bullmq' | 'sqs' | 'pubsub';
  orders: number;
  otlp?: string;
  link: boolean;
  metricsPort?: number;
  amqpUrl: string;
  brokers: string[];
  redisUrl: string;
  /** undefined: AWS itself. */
  sqsEndpoint: string | undefined;
  /** undefined: the real service. */
  pubsubEmulator: string | undefined;
  pubsubProject: string;
  ui: boolean;
  uiPort: number;
  jaegerUrl?: string;
}

export function parseDemoFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): DemoFlags {
  const { values } = parseFlags({
    args: argv,
    options: {
      broker: { type: 'string', default: 'inproc' },
      orders: { type: 'string', default: '3' },
      otlp: { type: 'string' },
      link: { type: 'boolean', default: false },
      'metrics-port': { type: 'string' },
      'amqp-url': { type: 'string' },
      brokers: { type: 'string' },
      'redis-url': { type: 'string' },
      'sqs-endpoint': { type: 'string' },
      'pubsub-emulator': { type: 'string' },
      'pubsub-project': { type: 'string' },
      ui: { type: 'boolean', default: false },
      'ui-port': { type: 'string' },
      'jaeger-url': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const broker = values.broker;
  if (
    broker !== 'inproc' &&
    broker !== 'rabbitmq' &&
    broker !== 'kafka' &&
    broker !== 'bullmq' &&
    broker !== 'sqs' &&
    broker !== 'pubsub'
  ) {
    throw new UsageError(`--broker must be inproc, rabbitmq, kafka, bullmq, sqs or pubsub, got "${broker}"`);
  }
  const pubsubEmulator =
    values['pubsub-emulator'] ??
    env.PUBSUB_EMULATOR_HOST ??
    env.HOPTRACE_PUBSUB_EMULATOR_HOST ??
    '127.0.0.1:38085';
  urlFlag('otlp', values.otlp, 'http://127.0.0.1:4318');
  const sqsEndpoint = values['sqs-endpoint'] ?? env.HOPTRACE_SQS_ENDPOINT ?? 'http://127.0.0.1:34566';
  if (sqsEndpoint !== 'aws') urlFlag('sqs-endpoint', sqsEndpoint, 'http://127.0.0.1:34566');
  urlFlag('jaeger-url', values['jaeger-url'], 'http://127.0.0.1:16686');
  const redisUrl = values['redis-url'] ?? env.HOPTRACE_REDIS_URL ?? 'redis://127.0.0.1:36379';
  if (!/^rediss?:$/.test(urlFlag('redis-url', redisUrl, 'redis://127.0.0.1:36379')?.protocol ?? '')) {
    throw new UsageError(`--redis-url must be a redis:// URL, got "${redactUrl(redisUrl)}"`);
  }
  if (!values.ui && (values['ui-port'] !== undefined || values['jaeger-url'] !== undefined)) {
    throw new UsageError('--ui-port and --jaeger-url need --ui');
  }
  if (values.ui && values['metrics-port'] !== undefined) {
    throw new UsageError('--ui and --metrics-port cannot be combined (the collector serves /metrics)');
  }
  return {
    broker,
    orders: integerFlag('orders', values.orders, { min: 1, max: 10_000 }) as number,
    otlp: values.otlp,
    link: values.link ?? false,
    metricsPort: integerFlag('metrics-port', values['metrics-port'], { min: 1, max: 65535 }),
    amqpUrl: values['amqp-url'] ?? env.HOPTRACE_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:35672',
    brokers: brokersFlag(
      'brokers',
      values.brokers ?? env.HOPTRACE_KAFKA_BROKERS ?? '127.0.0.1:39092',
    ) as string[],
    sqsEndpoint: sqsEndpoint === 'aws' ? undefined : sqsEndpoint,
    redisUrl,
    pubsubEmulator: pubsubEmulator === 'none' ? undefined : pubsubEmulator,
    pubsubProject: values['pubsub-project'] ?? 'hoptrace-demo',
    ui: values.ui ?? false,
    uiPort: integerFlag('ui-port', values['ui-port'], { min: 0, max: 65535 }) ?? 4318,
    jaegerUrl: values['jaeger-url'],
  };
}

function serveMetrics(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found: try /metrics\n');
      return;
    }
    renderMetrics(metricsRegistry, req.headers.accept).then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(new UsageError(`cannot serve /metrics on 127.0.0.1:${port}: ${err.message}`)),
    );
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const linkModeOf = (flags: DemoFlags) => (flags.link ? ('link' as const) : ('parent' as const));

/** A demo scenario: runs to completion, says what it did, and returns the flows to print. */
type Scenario = (log: (line: string) => void) => Promise<{ correlationIds: string[]; headline: string }>;

async function runScenario(flags: DemoFlags, scenario: Scenario): Promise<number> {
  const telemetry = setupTelemetry({ serviceName: 'storefront', otlpUrl: flags.otlp });
  try {
    const { correlationIds, headline } = await scenario((line) => console.log(line));
    console.log(`${headline}\n`);
    await printJourneys(telemetry.spans(), correlationIds);
    console.log(await metricsSummary(metricsRegistry));
    if (flags.otlp) console.log(`\nSpans exported to ${redactUrl(flags.otlp)}.`);
    return 0;
  } finally {
    await telemetry.shutdown();
  }
}

const inprocScenario =
  (flags: DemoFlags): Scenario =>
  async () => {
    const result = await runOrdersDemo({ orders: flags.orders, linkMode: linkModeOf(flags) });
    return {
      correlationIds: result.correlationIds,
      headline: `Placed ${result.correlationIds.length} orders on the in-process bus.`,
    };
  };

const kafkaScenario =
  (flags: DemoFlags): Scenario =>
  async (log) => {
    const { runKafkaDemo } = await import('../demo/kafka.js');
    const summary = await runKafkaDemo({
      brokers: flags.brokers,
      messages: flags.orders,
      log,
      linkMode: linkModeOf(flags),
    }).catch((err: unknown) => {
      throw new UsageError(`Kafka demo failed against ${flags.brokers.join(',')}: ${(err as Error).message}`);
    });
    const lag = summary.lag.map((g) => `${g.group}=${g.totalLag ?? 0}`).join(' ');
    return {
      correlationIds: summary.correlationIds,
      headline: `Produced ${summary.produced} orders to Kafka topic ${summary.topic}; dead-lettered ${summary.deadLettered.length} to ${summary.deadLetterTopic}; lag now ${lag}.`,
    };
  };

const rabbitScenario =
  (flags: DemoFlags): Scenario =>
  async (log) => {
    const { runRabbitDemo, formatRabbitDemoSummary } = await import('../demo/rabbitmq.js');
    const result = await runRabbitDemo({
      url: flags.amqpUrl,
      orders: flags.orders,
      linkMode: linkModeOf(flags),
    }).catch((err: unknown) => {
      throw new UsageError(
        `RabbitMQ demo failed against ${redactUrl(flags.amqpUrl)}: ${(err as Error).message}`,
      );
    });
    log(formatRabbitDemoSummary(result));
    return {
      correlationIds: result.correlationIds,
      headline: `Placed ${result.correlationIds.length} orders through RabbitMQ at ${redactUrl(flags.amqpUrl)}.`,
    };
  };

const pubsubScenario =
  (flags: DemoFlags): Scenario =>
  async (log) => {
    const { runPubSubDemo, formatPubSubDemoSummary } = await import('../demo/pubsub.js');
    const where = flags.pubsubEmulator ?? `project ${flags.pubsubProject}`;
    const result = await runPubSubDemo({
      emulatorHost: flags.pubsubEmulator,
      projectId: flags.pubsubProject,
      orders: flags.orders,
      linkMode: linkModeOf(flags),
    }).catch((err: unknown) => {
      throw new UsageError(`Pub/Sub demo failed against ${where}: ${(err as Error).message}`);
    });
    log(formatPubSubDemoSummary(result));
    return {
      correlationIds: result.correlationIds,
      headline: `Placed ${result.correlationIds.length} orders through Pub/Sub at ${where}.`,
    };
  };

const bullmqScenario =
  (flags: DemoFlags): Scenario =>
  async (log) => {
    const { runBullMQDemo, formatBullMQDemoSummary } = await import('../demo/bullmq.js');
    const where = redactUrl(flags.redisUrl);
    const result = await runBullMQDemo({
      url: flags.redisUrl,
      orders: flags.orders,
      linkMode: linkModeOf(flags),
    }).catch((err: unknown) => {
      throw new UsageError(`BullMQ demo failed against ${where}: ${(err as Error).message}`);
    });
    log(formatBullMQDemoSummary(result));
    return {
      correlationIds: result.correlationIds,
      headline: `Placed ${result.correlationIds.length} orders through BullMQ at ${where}.`,
    };
  };

const sqsScenario =
  (flags: DemoFlags): Scenario =>
  async (log) => {
    const { runSqsDemo, formatSqsDemoSummary } = await import('../demo/sqs.js');
    const where = flags.sqsEndpoint ?? 'AWS';
    const result = await runSqsDemo({
      endpoint: flags.sqsEndpoint,
      orders: flags.orders,
      log,
      linkMode: linkModeOf(flags),
    }).catch((err: unknown) => {
      throw new UsageError(`SQS demo failed against ${where}: ${(err as Error).message}`);
    });
    log(formatSqsDemoSummary(result));
    return {
      correlationIds: result.correlationIds,
      headline: `Placed ${result.correlationIds.length} orders through SNS and SQS at ${where}.`,
    };
  };

async function runInproc(flags: DemoFlags): Promise<number> {
  if (flags.metricsPort === undefined) return runScenario(flags, inprocScenario(flags));
  const telemetry = setupTelemetry({ serviceName: 'storefront', otlpUrl: flags.otlp });
  try {
    const server = await serveMetrics(flags.metricsPort);
    const system = createOrdersSystem({ linkMode: linkModeOf(flags) });
    console.log(
      `Serving http://127.0.0.1:${flags.metricsPort}/metrics; placing an order every second. Ctrl-C stops.`,
    );
    const timer = setInterval(() => {
      system.publishOrder().catch((err: unknown) => console.error(`publish failed: ${String(err)}`));
    }, 1000);
    await new Promise<void>((resolve) => process.once('SIGINT', resolve));
    clearInterval(timer);
    await system.bus.close();
    server.close();
    console.log(`\n${await metricsSummary(metricsRegistry)}`);
    return 0;
  } finally {
    await telemetry.shutdown();
  }
}

/** Prints each flow's journey tree: the spans go through the collector's linker in process, no HTTP. */
async function printJourneys(
  spans: ReturnType<ReturnType<typeof setupTelemetry>['spans']>,
  correlationIds: string[],
) {
  const linker = new Linker();
  linker.ingest(spans.map(fromReadableSpan));
  linker.finalize();
  for (const id of correlationIds) {
    const journey = linker.journey(id);
    console.log(journey ? `${renderJourney(journey)}\n` : `${id}: no spans\n`);
  }
}

/** Feeds finished spans to an in-process collector in small batches (the UI reads them from there). */
function collectorProcessor(collector: Collector): SpanProcessor & { flush(): Promise<void> } {
  let queue: SpanRecord[] = [];
  const flush = async () => {
    if (queue.length === 0) return;
    const spans = queue;
    queue = [];
    await collector.ingestSpans(spans).catch((err: unknown) => console.error(`collector: ${String(err)}`));
  };
  const timer = setInterval(() => void flush(), 200);
  timer.unref();
  return {
    onStart() {},
    onEnd(span) {
      queue.push(fromReadableSpan(span));
    },
    forceFlush: flush,
    flush,
    async shutdown() {
      clearInterval(timer);
      await flush();
    },
  };
}

async function startUiCollector(flags: DemoFlags): Promise<Collector> {
  const options = {
    ui: flags.jaegerUrl ? { jaegerUrl: flags.jaegerUrl } : undefined,
    // Short windows, so an order that is never consumed shows as unconsumed within seconds.
    limits: { unconsumedDeadlineMs: 10_000, linkWindowMs: 5_000 },
  };
  try {
    return await startCollector({ ...options, port: flags.uiPort });
  } catch (err) {
    if (flags.uiPort === 0 || !/EADDRINUSE/.test(String((err as Error).message))) throw err;
    console.log(`Port ${flags.uiPort} is taken; using a free one.`);
    return startCollector({ ...options, port: 0 });
  }
}

/** `--ui`: the scenario's spans go to a collector in this process, which stays up until Ctrl-C. */
async function runWithUi(flags: DemoFlags, scenario: Scenario): Promise<number> {
  const collector = await startUiCollector(flags);
  const feed = collectorProcessor(collector);
  const telemetry = setupTelemetry({
    serviceName: 'storefront',
    otlpUrl: flags.otlp,
    keepSpans: false,
    processors: [feed],
  });
  try {
    const { correlationIds, headline } = await scenario((line) => console.log(line));
    await feed.flush();
    console.log(headline);
    const first = correlationIds.find((id) => /-3$/.test(id)) ?? correlationIds[0];
    console.log(`\nhoptrace UI: ${collector.url}/`);
    if (first) console.log(`a journey:   ${collector.url}/journeys/${encodeURIComponent(first)}`);
    let timer: NodeJS.Timeout | undefined;
    let system: ReturnType<typeof createOrdersSystem> | undefined;
    if (flags.broker === 'inproc') {
      // Keep the map live: an order a second, numbered after the first run's.
      system = createOrdersSystem({ firstOrderId: correlationIds.length + 1, linkMode: linkModeOf(flags) });
      timer = setInterval(() => {
        system?.publishOrder().catch((err: unknown) => console.error(`publish failed: ${String(err)}`));
      }, 1000);
      console.log('Placing an order every second. Ctrl-C stops.');
    } else {
      console.log('Ctrl-C stops.');
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    clearInterval(timer);
    await system?.bus.close();
    return 0;
  } finally {
    await telemetry.shutdown();
    await collector.close();
  }
}

export const command: Command = {
  name: 'demo',
  summary:
    'run an orders flow (in process by default, or on RabbitMQ/Kafka/BullMQ/SQS/Pub/Sub) and print its journeys',
  help: HELP,
  async run(argv) {
    const flags = parseDemoFlags(argv);
    if (flags.ui) {
      const scenario =
        flags.broker === 'inproc'
          ? inprocScenario(flags)
          : flags.broker === 'kafka'
            ? kafkaScenario(flags)
            : flags.broker === 'bullmq'
              ? bullmqScenario(flags)
              : flags.broker === 'sqs'
                ? sqsScenario(flags)
                : flags.broker === 'pubsub'
                  ? pubsubScenario(flags)
                  : rabbitScenario(flags);
      return runWithUi(flags, scenario);
    }
    if (flags.broker === 'inproc') return runInproc(flags);
    if (flags.broker === 'kafka') return runScenario(flags, kafkaScenario(flags));
    if (flags.broker === 'bullmq') return runScenario(flags, bullmqScenario(flags));
    if (flags.broker === 'sqs') return runScenario(flags, sqsScenario(flags));
    if (flags.broker === 'pubsub') return runScenario(flags, pubsubScenario(flags));
    return runScenario(flags, rabbitScenario(flags));
  },
};
