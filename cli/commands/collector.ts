import { DiagConsoleLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import type { CollectorOptions } from '../../collector/config.js';
import { ConfigError } from '../../collector/errors.js';
import { startCollector } from '../../collector/start.js';
import { type Command, UsageError } from '../command.js';
import { brokersFlag, integerFlag, listFlag, parseFlags, redactUrl, regexFlag, urlFlag } from '../flags.js';
import { KAFKA_CONNECTION_HELP, kafkaConnection, kafkaConnectionFlags } from '../kafka-connection.js';

const HELP = `Usage: hoptrace collector [flags]

Receives OTLP/HTTP spans (POST /v1/traces, protobuf or JSON, gzip), links publishes to deliveries,
serves /metrics (Prometheus or OpenMetrics), /healthz, /readyz, the web UI (/: flow map and journeys)
and the API (/api/map, /api/journeys/{correlationId}, /api/messages/{messageId}), optionally watches
RabbitMQ, Kafka lag, SQS and BullMQ queues and Pub/Sub subscriptions, and forwards
spans (with synthetic "deliver" spans for Jaeger) to another OTLP receiver. Runs until Ctrl-C.

Flags:
  --port N                    listen port (default 4318; 0 picks a free one)
  --host H                    listen address (default 127.0.0.1)
  --token T                   require "Authorization: Bearer T" on ingest and /api (default $HOPTRACE_COLLECTOR_TOKEN)
  --forward URL               forward spans over OTLP/HTTP, e.g. http://127.0.0.1:34318 (Jaeger)
  --rabbitmq URL              RabbitMQ management API, e.g. http://guest:guest@127.0.0.1:15672
  --rabbitmq-vhost V          vhost to watch (default /)
  --sqs ENDPOINT              watch SQS queues: an emulator URL, or "aws" for AWS (credentials: the AWS SDK chain)
  --sqs-region R              region (default $AWS_REGION or us-east-1)
  --sqs-queues Q1,Q2          queue names or URLs (default every queue, up to 1000)
  --sqs-prefix P              only queues whose name starts with P
  --pubsub PROJECT            watch Pub/Sub subscriptions of a Google Cloud project (backlog from Cloud Monitoring)
  --pubsub-emulator HOST:PORT an emulator (default $PUBSUB_EMULATOR_HOST): subscriptions and dead-letter topology only
  --pubsub-subscriptions S1,S2 subscriptions to watch (default every one of the project)
  --kafka-brokers HOSTS       watch Kafka consumer lag (comma-separated host:port)
  --bullmq URL                watch BullMQ queues in this Redis, e.g. redis://127.0.0.1:6379
  --bullmq-queues Q1,Q2       only these queues (default every queue under the prefix)
  --bullmq-prefix P           BullMQ's key prefix (default bull)
  --kafka-groups G1,G2        only these consumer groups (default all)
  --kafka-group-regex RE      only the consumer groups matching RE
  --kafka-topic-regex RE      only the topics matching RE
${KAFKA_CONNECTION_HELP('kafka-')}
  --monitor-interval MS       broker poll interval (default 15000; Kafka 5000)
  --link-window-ms MS         how long a delivery waits for its publish (default 30000)
  --unconsumed-deadline-ms MS publish with no delivery after this is unconsumed (default 60000)
  --message-ttl-ms MS         how long a publish stays linkable (default 600000)
  --max-tracked-messages N    publishes + waiting deliveries kept (default 100000)
  --max-body-bytes N          request body limit, also after gunzip (default 4194304)
  --shed-above-busy-percent P answer a growing share of requests 429 while the event loop is busier (default 90; 100 = off)
  --scale-out-brokers HOSTS   scale out through a Kafka topic (see docs/collector.md)
  --scale-out-topic T         the topic (default hoptrace.spans)
  --scale-out-role R          ingest, link or both (default both)
  --scale-out-group G         consumer group of the linking instances (default hoptrace-collector)
  --scale-out-peer URL        an instance's HTTP base URL (repeat for each; may include this one): the UI
                              and /api of any instance then show the whole map and find any journey
  --jaeger-url URL            Jaeger UI base URL: the web UI links journeys to their traces there
  -h, --help                  this text

Examples:
  npx hoptrace collector
  npx hoptrace collector --forward http://127.0.0.1:34318 --rabbitmq http://guest:guest@127.0.0.1:35673
  npx hoptrace collector --bullmq redis://127.0.0.1:6379 --bullmq-queues emails,orders
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 node my-service.js`;

export function parseCollectorFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): CollectorOptions {
  const { values } = parseFlags({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      token: { type: 'string' },
      forward: { type: 'string' },
      rabbitmq: { type: 'string' },
      'rabbitmq-vhost': { type: 'string' },
      sqs: { type: 'string' },
      'sqs-region': { type: 'string' },
      'sqs-queues': { type: 'string' },
      'sqs-prefix': { type: 'string' },
      pubsub: { type: 'string' },
      'pubsub-emulator': { type: 'string' },
      'pubsub-subscriptions': { type: 'string' },
      'kafka-brokers': { type: 'string' },
      'kafka-groups': { type: 'string' },
      'kafka-group-regex': { type: 'string' },
      'kafka-topic-regex': { type: 'string' },
      ...kafkaConnectionFlags('kafka-'),
      bullmq: { type: 'string' },
      'bullmq-queues': { type: 'string' },
      'bullmq-prefix': { type: 'string' },
      'monitor-interval': { type: 'string' },
      'link-window-ms': { type: 'string' },
      'unconsumed-deadline-ms': { type: 'string' },
      'message-ttl-ms': { type: 'string' },
      'max-tracked-messages': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'shed-above-busy-percent': { type: 'string' },
      'scale-out-brokers': { type: 'string' },
      'scale-out-topic': { type: 'string' },
      'scale-out-role': { type: 'string' },
      'scale-out-group': { type: 'string' },
      'scale-out-peer': { type: 'string', multiple: true },
      'jaeger-url': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  }) as unknown as { values: Record<string, string | undefined> & { 'scale-out-peer'?: string[] } };
  const interval = integerFlag('monitor-interval', values['monitor-interval'], { min: 1 });
  const options: CollectorOptions = {};
  const port = integerFlag('port', values.port, { max: 65535 });
  if (port !== undefined) options.port = port;
  if (values.host !== undefined) options.host = values.host;
  const token = values.token ?? env.HOPTRACE_COLLECTOR_TOKEN;
  if (token) options.token = token;
  if (values.forward !== undefined) options.forwardOtlpUrl = values.forward;
  if (values.rabbitmq !== undefined) {
    options.rabbitmq = { managementUrl: values.rabbitmq };
    if (values['rabbitmq-vhost'] !== undefined) options.rabbitmq.vhost = values['rabbitmq-vhost'];
    if (interval !== undefined) options.rabbitmq.intervalMs = interval;
  } else if (values['rabbitmq-vhost'] !== undefined) {
    throw new UsageError('--rabbitmq-vhost needs --rabbitmq');
  }
  if (values.sqs !== undefined) {
    options.sqs = values.sqs === 'aws' ? {} : { endpoint: values.sqs };
    if (values['sqs-region'] !== undefined) options.sqs.region = values['sqs-region'];
    const queues = listFlag(values['sqs-queues']);
    if (queues) options.sqs.queues = queues;
    if (values['sqs-prefix'] !== undefined) options.sqs.queueNamePrefix = values['sqs-prefix'];
    if (interval !== undefined) options.sqs.intervalMs = interval;
  } else if (values['sqs-region'] ?? values['sqs-queues'] ?? values['sqs-prefix']) {
    throw new UsageError('--sqs-region, --sqs-queues and --sqs-prefix need --sqs');
  }
  if (values.pubsub !== undefined) {
    options.pubsub = { projectId: values.pubsub };
    const emulator = values['pubsub-emulator'] ?? env.PUBSUB_EMULATOR_HOST;
    if (emulator) options.pubsub.emulatorHost = emulator;
    const subscriptions = listFlag(values['pubsub-subscriptions']);
    if (subscriptions) options.pubsub.subscriptions = subscriptions;
    if (interval !== undefined) options.pubsub.intervalMs = interval;
  } else if (values['pubsub-emulator'] ?? values['pubsub-subscriptions']) {
    throw new UsageError('--pubsub-emulator and --pubsub-subscriptions need --pubsub');
  }
  const brokers = brokersFlag('kafka-brokers', values['kafka-brokers']);
  if (brokers) {
    options.kafka = { brokers };
    const groups = listFlag(values['kafka-groups']);
    const groupRegex = regexFlag('kafka-group-regex', values['kafka-group-regex']);
    if (groups && groupRegex)
      throw new UsageError('--kafka-groups and --kafka-group-regex do not go together');
    if (groups ?? groupRegex) options.kafka.groups = groups ?? groupRegex;
    const topicRegex = regexFlag('kafka-topic-regex', values['kafka-topic-regex']);
    if (topicRegex) options.kafka.topics = topicRegex;
    Object.assign(options.kafka, kafkaConnection('kafka-', values, env));
    if (interval !== undefined) options.kafka.intervalMs = interval;
  } else if (
    Object.keys(values).some(
      (k) => k.startsWith('kafka-') && k !== 'kafka-brokers' && values[k] !== undefined,
    )
  ) {
    throw new UsageError('--kafka-* flags need --kafka-brokers');
  }
  if (values.bullmq !== undefined) {
    options.bullmq = { url: values.bullmq };
    const queues = listFlag(values['bullmq-queues']);
    if (queues) options.bullmq.queues = queues;
    if (values['bullmq-prefix'] !== undefined) options.bullmq.prefix = values['bullmq-prefix'];
    if (interval !== undefined) options.bullmq.intervalMs = interval;
  } else if (values['bullmq-queues'] ?? values['bullmq-prefix']) {
    throw new UsageError('--bullmq-queues and --bullmq-prefix need --bullmq');
  }
  const limits: NonNullable<CollectorOptions['limits']> = {};
  const limitFlags = {
    'link-window-ms': 'linkWindowMs',
    'unconsumed-deadline-ms': 'unconsumedDeadlineMs',
    'message-ttl-ms': 'messageTtlMs',
    'max-tracked-messages': 'maxTrackedMessages',
    'max-body-bytes': 'maxBodyBytes',
  } as const;
  for (const [flag, key] of Object.entries(limitFlags)) {
    const value = integerFlag(flag, values[flag], { min: 1 });
    if (value !== undefined) limits[key] = value;
  }
  // Alone in its process, the collector's event loop is its own: shed load when it saturates.
  limits.shedAboveBusyPercent =
    integerFlag('shed-above-busy-percent', values['shed-above-busy-percent'], { min: 1, max: 100 }) ?? 90;
  if (limits.maxBodyBytes !== undefined)
    limits.maxInFlightBytes = Math.max(limits.maxBodyBytes * 8, 32 * 1024 * 1024);
  if (Object.keys(limits).length > 0) options.limits = limits;
  const scaleOutBrokers = brokersFlag('scale-out-brokers', values['scale-out-brokers']);
  if (scaleOutBrokers) {
    const role = values['scale-out-role'] ?? 'both';
    if (role !== 'ingest' && role !== 'link' && role !== 'both') {
      throw new UsageError(`--scale-out-role must be ingest, link or both, got "${role}"`);
    }
    options.scaleOut = {
      kafka: {
        brokers: scaleOutBrokers,
        topic: values['scale-out-topic'] ?? 'hoptrace.spans',
        ingest: role !== 'link',
        link: role !== 'ingest',
      },
    };
    if (values['scale-out-group'] !== undefined) options.scaleOut.kafka.groupId = values['scale-out-group'];
    const peers = values['scale-out-peer'];
    if (peers) {
      for (const peer of peers) urlFlag('scale-out-peer', peer, 'http://10.0.0.2:4318');
      options.scaleOut.kafka.peers = peers;
    }
  } else if (
    values['scale-out-topic'] ??
    values['scale-out-role'] ??
    values['scale-out-group'] ??
    values['scale-out-peer']
  ) {
    throw new UsageError(
      '--scale-out-topic, --scale-out-role, --scale-out-group and --scale-out-peer need --scale-out-brokers',
    );
  }
  if (values['jaeger-url'] !== undefined) {
    urlFlag('jaeger-url', values['jaeger-url'], 'http://127.0.0.1:16686');
    options.ui = { jaegerUrl: values['jaeger-url'] };
  }
  return options;
}

export const command: Command = {
  name: 'collector',
  summary: 'receive OTLP spans, link producers to consumers, watch brokers, serve /metrics and journeys',
  help: HELP,
  async run(argv) {
    const options = parseCollectorFlags(argv);
    diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);
    let collector: Awaited<ReturnType<typeof startCollector>>;
    try {
      collector = await startCollector(options);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    const parts = [
      `hoptrace collector listening on ${collector.url}`,
      `OTLP: ${collector.url}/v1/traces`,
      `UI: ${collector.url}/`,
    ];
    if (options.forwardOtlpUrl) parts.push(`forwarding to ${redactUrl(options.forwardOtlpUrl)}`);
    if (options.rabbitmq) parts.push('watching RabbitMQ');
    if (options.kafka) parts.push('watching Kafka lag');
    if (options.bullmq) parts.push(`watching BullMQ at ${redactUrl(options.bullmq.url)}`);
    if (options.sqs) parts.push('watching SQS');
    if (options.pubsub) parts.push(`watching Pub/Sub project ${options.pubsub.projectId}`);
    console.log(parts.join('; '));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    console.log('hoptrace collector: shutting down');
    await collector.close();
    return 0;
  },
};
