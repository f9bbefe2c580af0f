/**
 * Broker state from every source, mapped onto hoptrace's names and labels: the collector's own
 * gauges, kafka_exporter, kminion and rabbitmq_prometheus (per-object and detailed endpoints, as
 * RabbitMQ 3.10 exposes them: `rabbitmq_queue_*{vhost, queue}` and `rabbitmq_detailed_queue_*`).
 * SQS has no oldest-message age among its queue attributes: its lag in seconds comes from the
 * wrappers' message age at receive, or from CloudWatch's `ApproximateAgeOfOldestMessage` through YACE.
 *
 * Each source writes `*:by_source` with its `hoptrace_source`; the deduplicating rules at the end of
 * the group (evaluated after them, in order) give dashboards and alerts one series per key.
 */
import {
  LABEL_CONSUMER_GROUP,
  LABEL_DEAD_LETTER_SOURCE,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  LABEL_PARTITION,
  LABEL_QUEUE_STATE,
  MESSAGING_SYSTEM_AWS_SQS,
  MESSAGING_SYSTEM_KAFKA,
  MESSAGING_SYSTEM_RABBITMQ,
  METRIC_CONSUMER_LAG_MESSAGES,
  METRIC_CONSUMER_LAG_SECONDS,
  METRIC_DLQ_MESSAGES,
  METRIC_KAFKA_GROUP_MEMBERS,
  METRIC_MESSAGE_AGE,
  METRIC_QUEUE_CONSUMERS,
  METRIC_QUEUE_MESSAGES,
  METRIC_QUEUE_OLDEST_AGE,
  type QueueState,
} from '../../instrumentation/core/semconv.js';
import {
  CONSUMER_KEY,
  DESTINATION_KEY,
  DLQ_KEY,
  LABEL_HOPTRACE_SOURCE,
  PARTITION_KEY,
  QUEUE_STATE_KEY,
  RECORD_CONSUMERS,
  RECORD_CONSUMERS_BY_SOURCE,
  RECORD_DLQ_MESSAGES,
  RECORD_DLQ_MESSAGES_BY_SOURCE,
  RECORD_LAG_MESSAGES,
  RECORD_LAG_MESSAGES_BY_SOURCE,
  RECORD_LAG_MESSAGES_PARTITION,
  RECORD_LAG_SECONDS,
  RECORD_LAG_SECONDS_BY_SOURCE,
  RECORD_OLDEST_AGE,
  RECORD_OLDEST_AGE_BY_SOURCE,
  RECORD_QUEUE_MESSAGES,
  RECORD_QUEUE_MESSAGES_BY_SOURCE,
  SOURCE_CLOUDWATCH,
  SOURCE_COLLECTOR,
  SOURCE_INSTRUMENTATION,
  SOURCE_KAFKA_EXPORTER,
  SOURCE_KMINION,
  SOURCE_MESSAGE_AGE,
  SOURCE_RABBITMQ,
} from './names.js';
import { by, quote, renameLabels, selector } from './promql.js';
import type { RecordingRule, RuleContext, RuleGroup } from './types.js';

const G = LABEL_CONSUMER_GROUP;
const D = LABEL_DESTINATION;
const P = LABEL_PARTITION;

const kafka = (source: string) => ({
  [LABEL_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_KAFKA,
  [LABEL_HOPTRACE_SOURCE]: source,
});
const rabbit = (extra: Record<string, string> = {}) => ({
  [LABEL_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_RABBITMQ,
  [LABEL_HOPTRACE_SOURCE]: SOURCE_RABBITMQ,
  ...extra,
});
const sqs = (source: string) => ({
  [LABEL_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_AWS_SQS,
  [LABEL_HOPTRACE_SOURCE]: source,
});
const collector = { [LABEL_HOPTRACE_SOURCE]: SOURCE_COLLECTOR };

/** YACE's SQS `ApproximateAgeOfOldestMessage` (maximum statistic) per queue. */
function cloudwatchSqsOldestAge(ctx: RuleContext): string {
  return `max ${by([D])} (${renameLabels(selector('aws_sqs_approximate_age_of_oldest_message_maximum', ctx.config.selectors.cloudwatch), { dimension_QueueName: D })})`;
}
const instrumentation = { [LABEL_HOPTRACE_SOURCE]: SOURCE_INSTRUMENTATION };

/** A rabbitmq_prometheus queue gauge from whichever endpoint is scraped (per-object or detailed). */
function rabbitQueueGauge(ctx: RuleContext, name: string, ...matchers: string[]): string {
  const sel = ctx.config.selectors.rabbitmq;
  return `${selector(`rabbitmq_queue_${name}`, sel, ...matchers)} or ${selector(`rabbitmq_detailed_queue_${name}`, sel, ...matchers)}`;
}

/** Per queue, renamed to `messaging_destination_name`, other labels (vhost, instance) dropped. */
function perQueue(expr: string, extraKeys: string[] = []): string {
  return `max ${by([D, ...extraKeys])} (${renameLabels(`(${expr})`, { queue: D })})`;
}

/**
 * Unix seconds of the oldest message in each queue, from its AMQP `timestamp` property. The property
 * is seconds by the spec, but many clients write `Date.now()`: a value 100 times the current Unix
 * time can only be milliseconds. Queues that are empty or whose head has no timestamp report NaN,
 * which the comparisons drop.
 */
function rabbitHeadTimestampSeconds(ctx: RuleContext): string {
  const head = `(${rabbitQueueGauge(ctx, 'head_message_timestamp')})`;
  return `((${head} > 100 * time()) / 1000 or (${head} > 0))`;
}

function lagMessages(ctx: RuleContext): RecordingRule[] {
  const { selectors } = ctx.config;
  return [
    {
      record: RECORD_LAG_MESSAGES_BY_SOURCE,
      expr: `max ${by(PARTITION_KEY)} (${selector(METRIC_CONSUMER_LAG_MESSAGES, selectors.collector)})`,
      labels: collector,
    },
    {
      // The bus measures its own lag (nobody else can see it); a service may run the Kafka lag monitor.
      record: RECORD_LAG_MESSAGES_BY_SOURCE,
      expr: `max ${by(PARTITION_KEY)} (${selector(METRIC_CONSUMER_LAG_MESSAGES, selectors.services)})`,
      labels: instrumentation,
    },
    {
      record: RECORD_LAG_MESSAGES_BY_SOURCE,
      // kafka_exporter reports -1 for partitions the group never committed to.
      expr: `max ${by([D, G, P])} (${renameLabels(`${selector('kafka_consumergroup_lag', selectors.kafkaExporter)} >= 0`, { consumergroup: G, topic: D, partition: P })})`,
      labels: kafka(SOURCE_KAFKA_EXPORTER),
    },
    {
      record: RECORD_LAG_MESSAGES_BY_SOURCE,
      expr: `max ${by([D, G, P])} (${renameLabels(selector('kminion_kafka_consumer_group_topic_partition_lag', selectors.kminion), { group_id: G, topic_name: D, partition_id: P })})`,
      labels: kafka(SOURCE_KMINION),
    },
    {
      record: RECORD_LAG_MESSAGES_BY_SOURCE,
      expr: perQueue(rabbitQueueGauge(ctx, 'messages_ready')),
      labels: rabbit(),
    },
    {
      record: RECORD_LAG_MESSAGES_PARTITION,
      expr: `max ${by(PARTITION_KEY)} (${RECORD_LAG_MESSAGES_BY_SOURCE})`,
    },
    { record: RECORD_LAG_MESSAGES, expr: `sum ${by(CONSUMER_KEY)} (${RECORD_LAG_MESSAGES_PARTITION})` },
  ];
}

function lagSeconds(ctx: RuleContext): RecordingRule[] {
  return [
    {
      record: RECORD_LAG_SECONDS_BY_SOURCE,
      expr: `max ${by(CONSUMER_KEY)} (${selector(METRIC_CONSUMER_LAG_SECONDS, ctx.config.selectors.collector)})`,
      labels: collector,
    },
    {
      record: RECORD_LAG_SECONDS_BY_SOURCE,
      expr: `max ${by(CONSUMER_KEY)} (${selector(METRIC_CONSUMER_LAG_SECONDS, ctx.config.selectors.services)})`,
      labels: instrumentation,
    },
    {
      record: RECORD_LAG_SECONDS_BY_SOURCE,
      expr: perQueue(`time() - ${rabbitHeadTimestampSeconds(ctx)}`),
      labels: rabbit(),
    },
    {
      // SQS: p99 message age at receive, per queue, while messages are being received.
      record: RECORD_LAG_SECONDS_BY_SOURCE,
      expr: `histogram_quantile(0.99, sum ${by(['le', ...CONSUMER_KEY])} (rate(${selector(`${METRIC_MESSAGE_AGE}_bucket`, ctx.config.selectors.services, `${LABEL_MESSAGING_SYSTEM}=${quote(MESSAGING_SYSTEM_AWS_SQS)}`)}[${ctx.window(ctx.config.windows.sqsMessageAge)}])))`,
      labels: { [LABEL_HOPTRACE_SOURCE]: SOURCE_MESSAGE_AGE },
    },
    {
      record: RECORD_LAG_SECONDS_BY_SOURCE,
      expr: cloudwatchSqsOldestAge(ctx),
      labels: sqs(SOURCE_CLOUDWATCH),
    },
    { record: RECORD_LAG_SECONDS, expr: `max ${by(CONSUMER_KEY)} (${RECORD_LAG_SECONDS_BY_SOURCE})` },
  ];
}

function queueMessages(ctx: RuleContext): RecordingRule[] {
  const rabbitState = (state: QueueState, gauge: string): RecordingRule => ({
    record: RECORD_QUEUE_MESSAGES_BY_SOURCE,
    expr: perQueue(rabbitQueueGauge(ctx, gauge)),
    labels: rabbit({ [LABEL_QUEUE_STATE]: state }),
  });
  return [
    {
      record: RECORD_QUEUE_MESSAGES_BY_SOURCE,
      expr: `max ${by(QUEUE_STATE_KEY)} (${selector(METRIC_QUEUE_MESSAGES, ctx.config.selectors.collector)})`,
      labels: collector,
    },
    rabbitState('ready', 'messages_ready'),
    rabbitState('unacked', 'messages_unacked'),
    {
      record: RECORD_QUEUE_MESSAGES,
      expr: `max ${by(QUEUE_STATE_KEY)} (${RECORD_QUEUE_MESSAGES_BY_SOURCE})`,
    },
  ];
}

function consumers(ctx: RuleContext): RecordingRule[] {
  const { selectors } = ctx.config;
  // kafka_exporter counts members per group only; the group's lag series say which topics it reads.
  const kafkaExporterMembers =
    `max by (consumergroup, topic) (${selector('kafka_consumergroup_lag', selectors.kafkaExporter)}) * 0` +
    ` + on (consumergroup) group_left () max by (consumergroup) (${selector('kafka_consumergroup_members', selectors.kafkaExporter)})`;
  // The collector counts a Kafka group's members per group; its lag series say which topics it reads.
  const collectorMembers =
    `max ${by(CONSUMER_KEY)} (${selector(METRIC_CONSUMER_LAG_MESSAGES, selectors.collector, `${LABEL_MESSAGING_SYSTEM}=${quote(MESSAGING_SYSTEM_KAFKA)}`)}) * 0` +
    ` + on (${LABEL_MESSAGING_SYSTEM}, ${G}) group_left () max ${by([LABEL_MESSAGING_SYSTEM, G])} (${selector(METRIC_KAFKA_GROUP_MEMBERS, selectors.collector)})`;
  return [
    {
      // Queue consumers (RabbitMQ, SQS, ...) or Kafka group members: one rule per record and source.
      record: RECORD_CONSUMERS_BY_SOURCE,
      expr: `max ${by(CONSUMER_KEY)} (${selector(METRIC_QUEUE_CONSUMERS, selectors.collector)})\nor max ${by(CONSUMER_KEY)} (${collectorMembers})`,
      labels: collector,
    },
    {
      record: RECORD_CONSUMERS_BY_SOURCE,
      expr: `max ${by([D, G])} (${renameLabels(`(${kafkaExporterMembers})`, { consumergroup: G, topic: D })})`,
      labels: kafka(SOURCE_KAFKA_EXPORTER),
    },
    {
      record: RECORD_CONSUMERS_BY_SOURCE,
      expr: `max ${by([D, G])} (${renameLabels(selector('kminion_kafka_consumer_group_topic_members', selectors.kminion), { group_id: G, topic_name: D })})`,
      labels: kafka(SOURCE_KMINION),
    },
    {
      record: RECORD_CONSUMERS_BY_SOURCE,
      expr: perQueue(rabbitQueueGauge(ctx, 'consumers')),
      labels: rabbit(),
    },
    { record: RECORD_CONSUMERS, expr: `max ${by(CONSUMER_KEY)} (${RECORD_CONSUMERS_BY_SOURCE})` },
  ];
}

function deadLetterQueues(ctx: RuleContext): RecordingRule[] {
  const pattern = ctx.config.rabbitmqDeadLetterQueuePattern;
  const dlqDepth = `label_replace(${rabbitQueueGauge(ctx, 'messages', `queue=~${quote(pattern)}`)}, "${LABEL_DEAD_LETTER_SOURCE}", "$1", "queue", ${quote(pattern)})`;
  return [
    {
      record: RECORD_DLQ_MESSAGES_BY_SOURCE,
      expr: `max ${by(DLQ_KEY)} (${selector(METRIC_DLQ_MESSAGES, ctx.config.selectors.collector)})`,
      labels: collector,
    },
    {
      record: RECORD_DLQ_MESSAGES_BY_SOURCE,
      expr: perQueue(dlqDepth, [LABEL_DEAD_LETTER_SOURCE]),
      labels: rabbit(),
    },
    { record: RECORD_DLQ_MESSAGES, expr: `max ${by(DLQ_KEY)} (${RECORD_DLQ_MESSAGES_BY_SOURCE})` },
  ];
}

function oldestMessageAge(ctx: RuleContext): RecordingRule[] {
  return [
    {
      record: RECORD_OLDEST_AGE_BY_SOURCE,
      expr: `max ${by(DESTINATION_KEY)} (${selector(METRIC_QUEUE_OLDEST_AGE, ctx.config.selectors.collector)})`,
      labels: collector,
    },
    {
      record: RECORD_OLDEST_AGE_BY_SOURCE,
      expr: perQueue(`time() - ${rabbitHeadTimestampSeconds(ctx)}`),
      labels: rabbit(),
    },
    {
      record: RECORD_OLDEST_AGE_BY_SOURCE,
      expr: cloudwatchSqsOldestAge(ctx),
      labels: sqs(SOURCE_CLOUDWATCH),
    },
    { record: RECORD_OLDEST_AGE, expr: `max ${by(DESTINATION_KEY)} (${RECORD_OLDEST_AGE_BY_SOURCE})` },
  ];
}

export function brokerStateRules(ctx: RuleContext): RuleGroup<RecordingRule> {
  return {
    name: 'hoptrace.records.broker-state',
    rules: [
      ...lagMessages(ctx),
      ...lagSeconds(ctx),
      ...queueMessages(ctx),
      ...consumers(ctx),
      ...deadLetterQueues(ctx),
      ...oldestMessageAge(ctx),
    ],
  };
}
