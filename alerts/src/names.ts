/**
 * Names of the series the recording rules write. Dashboards and alerts read broker state only
 * through these, so one panel serves the collector and every exporter the adapters map.
 *
 * `*:by_source` series keep the `hoptrace_source` label (which exporter said so); the names without
 * it are deduplicated across sources (max), so running the collector next to kafka_exporter counts
 * a group's lag once.
 */
import {
  LABEL_CONSUMER_GROUP,
  LABEL_DEAD_LETTER_SOURCE,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  LABEL_PARTITION,
  LABEL_QUEUE_STATE,
} from '../../instrumentation/core/semconv.js';

/** Which source a `*:by_source` series came from. */
export const LABEL_HOPTRACE_SOURCE = 'hoptrace_source';
export const SOURCE_COLLECTOR = 'collector';
/** Lag the services report themselves: the bus's own lag, a Kafka lag monitor run in a service. */
export const SOURCE_INSTRUMENTATION = 'instrumentation';
export const SOURCE_KAFKA_EXPORTER = 'kafka_exporter';
export const SOURCE_KMINION = 'kminion';
export const SOURCE_RABBITMQ = 'rabbitmq_prometheus';
/** SQS lag in seconds from the wrappers' `hoptrace_message_age_seconds` (age at receive). */
export const SOURCE_MESSAGE_AGE = 'message_age';
/** CloudWatch metrics through yet-another-cloudwatch-exporter (SQS `ApproximateAgeOfOldestMessage`). */
export const SOURCE_CLOUDWATCH = 'cloudwatch';

export const RECORD_LAG_MESSAGES_BY_SOURCE = 'hoptrace:consumer_lag_messages:by_source';
/** Per partition (Kafka) or per queue (RabbitMQ): system, destination, group, partition. */
export const RECORD_LAG_MESSAGES_PARTITION = 'hoptrace:consumer_lag_messages:partition';
/** Per system, destination, group: the partitions summed. */
export const RECORD_LAG_MESSAGES = 'hoptrace:consumer_lag_messages';
export const RECORD_LAG_SECONDS_BY_SOURCE = 'hoptrace:consumer_lag_seconds:by_source';
/** Age of the oldest unprocessed message per system, destination, group. */
export const RECORD_LAG_SECONDS = 'hoptrace:consumer_lag_seconds';
export const RECORD_QUEUE_MESSAGES_BY_SOURCE = 'hoptrace:queue_messages:by_source';
/** Queue depth per system, destination, state (ready | unacked). */
export const RECORD_QUEUE_MESSAGES = 'hoptrace:queue_messages';
export const RECORD_CONSUMERS_BY_SOURCE = 'hoptrace:consumers:by_source';
/** Consumers of a queue (RabbitMQ) or members of a group reading a topic (Kafka). */
export const RECORD_CONSUMERS = 'hoptrace:consumers';
export const RECORD_DLQ_MESSAGES_BY_SOURCE = 'hoptrace:dlq_messages:by_source';
/** Messages in each dead-letter queue: system, destination (the DLQ), dead_letter_source. */
export const RECORD_DLQ_MESSAGES = 'hoptrace:dlq_messages';
export const RECORD_OLDEST_AGE_BY_SOURCE = 'hoptrace:queue_oldest_message_age_seconds:by_source';
/** Age of the oldest message in each queue: system, destination. */
export const RECORD_OLDEST_AGE = 'hoptrace:queue_oldest_message_age_seconds';

/** Share of deliveries whose handler failed, over `window` (as the config writes it: "5m"). */
export function recordProcessingErrorRatio(window: string): string {
  return `hoptrace:processing_errors:ratio_rate${window}`;
}

/** Share of messages whose processing started later than the message-age SLO threshold. */
export function recordMessageAgeSlowRatio(window: string): string {
  return `hoptrace:message_age_slow:ratio_rate${window}`;
}

/** The labels each deduplicated series is aggregated by. */
export const CONSUMER_KEY = [LABEL_MESSAGING_SYSTEM, LABEL_DESTINATION, LABEL_CONSUMER_GROUP] as const;
export const PARTITION_KEY = [...CONSUMER_KEY, LABEL_PARTITION] as const;
export const DESTINATION_KEY = [LABEL_MESSAGING_SYSTEM, LABEL_DESTINATION] as const;
export const QUEUE_STATE_KEY = [...DESTINATION_KEY, LABEL_QUEUE_STATE] as const;
export const DLQ_KEY = [...DESTINATION_KEY, LABEL_DEAD_LETTER_SOURCE] as const;
