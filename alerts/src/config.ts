/**
 * Every knob of the rules in one place (kubernetes-mixin style): selectors, thresholds, `for`
 * durations and windows. The rule sources read only from here; users who need other values build
 * the rules with their own copy (`buildRecordingRules({ config })`, `buildAlertRules({ config })`).
 */
import { parseDuration } from './duration.js';

export interface BurnRateWindow {
  /** The long window shows the budget is really burning; the short one that it still is. */
  long: string;
  short: string;
  /** How many times faster than "exactly the budget over the SLO period" the errors come. */
  factor: number;
}

export interface HoptraceRulesConfig {
  /** Runbook links are `<runbookBaseUrl>/docs/runbooks.md#<alert name lowercased>`. */
  runbookBaseUrl: string;
  /** Label matchers (without braces) that pick each source's series; empty matches every job. */
  selectors: {
    /** The hoptrace collector's `/metrics`; also used for its `up` series. */
    collector: string;
    /**
     * Services instrumented with the hoptrace wrappers. Must not match the collector: its lag
     * series would be read a second time as the services' own.
     */
    services: string;
    /** danielqsj/kafka_exporter. */
    kafkaExporter: string;
    /** redpanda-data/kminion. */
    kminion: string;
    /** RabbitMQ's rabbitmq_prometheus plugin, `/metrics/per-object` or `/metrics/detailed`. */
    rabbitmq: string;
    /**
     * CloudWatch through prometheus-community/yet-another-cloudwatch-exporter (YACE) with the AWS/SQS
     * namespace: `aws_sqs_approximate_age_of_oldest_message_maximum{dimension_QueueName}`.
     */
    cloudwatch: string;
  };
  /**
   * RE2 pattern (full match) of RabbitMQ queue names that are dead-letter queues, for the
   * rabbitmq_prometheus adapter (the collector knows them from `x-dead-letter-exchange`). Capture
   * group 1 is the queue the dead letters come from.
   */
  rabbitmqDeadLetterQueuePattern: string;
  /** Destinations that hold messages without consumers on purpose (delay and retry queues). */
  consumerlessDestinationPattern: string;
  thresholds: {
    /** Dead letters per minute a consumer may produce before DeadLettersIncreasing. */
    deadLettersPerMinute: number;
    /** Age of the oldest unprocessed message, seconds (ConsumerLagHigh). */
    consumerLagSeconds: number;
    /** ConsumerLagGrowing ignores backlogs smaller than this. */
    consumerLagGrowingMinMessages: number;
    /** Seconds without a processed delivery, while a backlog exists, before ConsumerStalled. */
    consumerStalledAfterSeconds: number;
    /** `hoptrace_consumer_lag_status` at or above this is a stalled group (2 = STALL, 3 = STOP). */
    consumerLagStatusStalled: number;
    /** Seconds since the collector last read a broker successfully (StaleBrokerData). */
    staleBrokerDataSeconds: number;
    /** Stalled BullMQ jobs per queue within `windows.stalledJobs` tolerated before BullMQJobsStalled. */
    stalledJobs: number;
  };
  /** Range windows of the alert expressions. */
  windows: {
    deadLetters: string;
    deadLetterQueueTrend: string;
    deadLetterQueueDrain: string;
    consumerLagTrend: string;
    unconsumed: string;
    /** SQS consumer lag in seconds from the wrappers' message age at receive (p99 over this window). */
    sqsMessageAge: string;
    stalledJobs: string;
  };
  /** How long a condition must hold before the alert fires. */
  for: {
    deadLettersIncreasing: string;
    deadLetterQueueGrowing: string;
    deadLetterQueueNotDrained: string;
    consumerLagHigh: string;
    consumerLagGrowing: string;
    consumerStalled: string;
    backlogWithoutConsumers: string;
    unconsumedMessages: string;
    collectorDown: string;
    staleBrokerData: string;
    jobsStalled: string;
    queuePausedWithBacklog: string;
    /** Multi-window multi-burn-rate alerts: fast burn (pages) and slow burn (tickets). */
    budgetBurnCritical: string;
    budgetBurnWarning: string;
  };
  slo: {
    /** Share of deliveries whose handler must succeed. */
    processingObjective: number;
    /** Share of messages whose processing must start within `messageAgeSeconds` of publish. */
    messageAgeObjective: number;
    /** Must be a bucket boundary of `hoptrace_message_age_seconds` (see BUCKETS.age). */
    messageAgeSeconds: number;
    burnRates: { critical: BurnRateWindow[]; warning: BurnRateWindow[] };
  };
}

export const defaultConfig: HoptraceRulesConfig = {
  runbookBaseUrl: 'https://github.com/hoptrace/hoptrace/blob/main',
  selectors: {
    collector: 'job="hoptrace-collector"',
    services: 'job!="hoptrace-collector"',
    kafkaExporter: '',
    kminion: '',
    rabbitmq: '',
    cloudwatch: '',
  },
  rabbitmqDeadLetterQueuePattern: '(.+)[._-](?:dlq|dead-letters?|dead_letters?|dead)',
  consumerlessDestinationPattern: '.+[._-](?:retry|delay|delayed|parking)(?:[._-].*)?',
  thresholds: {
    deadLettersPerMinute: 0,
    consumerLagSeconds: 300,
    consumerLagGrowingMinMessages: 100,
    consumerStalledAfterSeconds: 600,
    consumerLagStatusStalled: 2,
    staleBrokerDataSeconds: 120,
    stalledJobs: 0,
  },
  windows: {
    deadLetters: '5m',
    deadLetterQueueTrend: '10m',
    deadLetterQueueDrain: '30m',
    consumerLagTrend: '10m',
    unconsumed: '15m',
    sqsMessageAge: '5m',
    stalledJobs: '15m',
  },
  for: {
    deadLettersIncreasing: '10m',
    deadLetterQueueGrowing: '10m',
    deadLetterQueueNotDrained: '1h',
    consumerLagHigh: '5m',
    consumerLagGrowing: '15m',
    consumerStalled: '5m',
    backlogWithoutConsumers: '5m',
    unconsumedMessages: '5m',
    collectorDown: '5m',
    staleBrokerData: '5m',
    jobsStalled: '1m',
    queuePausedWithBacklog: '15m',
    budgetBurnCritical: '2m',
    budgetBurnWarning: '15m',
  },
  slo: {
    processingObjective: 0.99,
    messageAgeObjective: 0.99,
    messageAgeSeconds: 10,
    // The Google SRE workbook's pairs for a 30-day SLO: 2% of the budget in 1h, 5% in 6h (page);
    // 10% in 1d, 10% in 3d (ticket).
    burnRates: {
      critical: [
        { long: '1h', short: '5m', factor: 14.4 },
        { long: '6h', short: '30m', factor: 6 },
      ],
      warning: [
        { long: '1d', short: '2h', factor: 3 },
        { long: '3d', short: '6h', factor: 1 },
      ],
    },
  },
};

/** Every window the SLO recording rules precompute, shortest first. */
export function sloWindows(config: HoptraceRulesConfig): string[] {
  const all = [...config.slo.burnRates.critical, ...config.slo.burnRates.warning].flatMap((w) => [
    w.long,
    w.short,
  ]);
  return [...new Set(all)].sort((a, b) => parseDuration(a) - parseDuration(b));
}
