/**
 * Names shared by the wrappers, the collector, the dashboards and the alert rules.
 * Attribute names follow the OpenTelemetry messaging semantic conventions (v1.27+);
 * `hoptrace.*` names are ours. See docs/contract.md.
 */

// --- OTel messaging attributes
export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ATTR_MESSAGING_MESSAGE_CONVERSATION_ID = 'messaging.message.conversation_id';
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';
export const ATTR_MESSAGING_DESTINATION_PARTITION_ID = 'messaging.destination.partition.id';
export const ATTR_MESSAGING_KAFKA_OFFSET = 'messaging.kafka.offset';
export const ATTR_MESSAGING_KAFKA_MESSAGE_KEY = 'messaging.kafka.message.key';
export const ATTR_MESSAGING_RABBITMQ_ROUTING_KEY = 'messaging.rabbitmq.destination.routing_key';
export const ATTR_MESSAGING_RABBITMQ_DELIVERY_TAG = 'messaging.rabbitmq.message.delivery_tag';
export const ATTR_MESSAGING_MESSAGE_BODY_SIZE = 'messaging.message.body.size';
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';
export const ATTR_MESSAGING_CLIENT_ID = 'messaging.client.id';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_SERVICE_NAME = 'service.name';

// --- hoptrace attributes
export const ATTR_HOPTRACE_OUTCOME = 'hoptrace.outcome';
export const ATTR_HOPTRACE_DELIVERY_ATTEMPT = 'hoptrace.delivery.attempt';
export const ATTR_HOPTRACE_DEAD_LETTER_REASON = 'hoptrace.dead_letter.reason';
export const ATTR_HOPTRACE_DEAD_LETTER_SOURCE = 'hoptrace.dead_letter.source';
/** Epoch ms the message was published (copied from the header onto consumer spans). */
export const ATTR_HOPTRACE_PUBLISHED_AT = 'hoptrace.published_at';
/** Epoch ms the flow's first message was published. */
export const ATTR_HOPTRACE_ORIGIN_AT = 'hoptrace.origin_at';
/** Prefix for allow-listed captured headers: `hoptrace.header.<name>`. */
export const ATTR_HOPTRACE_HEADER_PREFIX = 'hoptrace.header.';

// --- messaging.system values
export const MESSAGING_SYSTEM_RABBITMQ = 'rabbitmq';
export const MESSAGING_SYSTEM_KAFKA = 'kafka';
export const MESSAGING_SYSTEM_BUS = 'hoptrace.bus';
export const MESSAGING_SYSTEM_BULLMQ = 'bullmq';
export const MESSAGING_SYSTEM_AWS_SQS = 'aws_sqs';
export const MESSAGING_SYSTEM_AWS_SNS = 'aws_sns';
export const MESSAGING_SYSTEM_GCP_PUBSUB = 'gcp_pubsub';
/**
 * `messaging.system`: hoptrace's transports, or any other value a transport built on `hoptrace/transport`
 * names itself by (OTel's list is open: `nats`, `servicebus`, ...).
 */
export type MessagingSystem =
  | (string & {})
  | typeof MESSAGING_SYSTEM_RABBITMQ
  | typeof MESSAGING_SYSTEM_KAFKA
  | typeof MESSAGING_SYSTEM_BUS
  | typeof MESSAGING_SYSTEM_BULLMQ
  | typeof MESSAGING_SYSTEM_AWS_SQS
  | typeof MESSAGING_SYSTEM_AWS_SNS
  | typeof MESSAGING_SYSTEM_GCP_PUBSUB;

// --- messaging.operation.type values
export const OPERATION_TYPE_SEND = 'send';
export const OPERATION_TYPE_RECEIVE = 'receive';
export const OPERATION_TYPE_PROCESS = 'process';
export const OPERATION_TYPE_SETTLE = 'settle';
export type OperationType =
  | typeof OPERATION_TYPE_SEND
  | typeof OPERATION_TYPE_RECEIVE
  | typeof OPERATION_TYPE_PROCESS
  | typeof OPERATION_TYPE_SETTLE;

/** What finally happened to one delivery. */
export type Outcome = 'ack' | 'nack' | 'requeue' | 'reject' | 'dead_letter' | 'error' | 'retry';
export const OUTCOMES: readonly Outcome[] = [
  'ack',
  'nack',
  'requeue',
  'reject',
  'dead_letter',
  'error',
  'retry',
];

/**
 * Outcomes that mark the delivery's span failed (status ERROR, `error.type`): the message was not
 * handled, now or for good. `ack` and `requeue` (given back on purpose) are not failures; `nack` is a
 * negative settle whose effect the wrapper could not tell (kept as before: no status).
 */
export const FAILED_OUTCOMES: ReadonlySet<Outcome> = new Set<Outcome>([
  'dead_letter',
  'reject',
  'error',
  'retry',
]);

/** Why a message was dead-lettered (`hoptrace_dead_lettered_messages_total{reason}`). */
export type DeadLetterReason =
  | 'rejected'
  | 'expired'
  | 'maxlen'
  | 'delivery_limit'
  | 'max_attempts'
  | 'error';
export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = [
  'rejected',
  'expired',
  'maxlen',
  'delivery_limit',
  'max_attempts',
  'error',
];

// --- headers written on every message
export const HEADER_TRACEPARENT = 'traceparent';
export const HEADER_TRACESTATE = 'tracestate';
export const HEADER_BAGGAGE = 'baggage';
export const HEADER_CORRELATION_ID = 'x-correlation-id';
export const HEADER_PUBLISHED_AT = 'x-hoptrace-published-at';
export const HEADER_ORIGIN_AT = 'x-hoptrace-origin-at';
export const HEADER_MESSAGE_ID = 'x-hoptrace-message-id';
/** Baggage entry that carries the correlation ID into HTTP calls made while handling. */
export const BAGGAGE_CORRELATION_ID = 'correlation.id';

// --- metrics (label names are the attribute names with `_`)
export const LABEL_MESSAGING_SYSTEM = 'messaging_system';
export const LABEL_DESTINATION = 'messaging_destination_name';
export const LABEL_CONSUMER_GROUP = 'messaging_consumer_group_name';
export const LABEL_OPERATION_NAME = 'messaging_operation_name';
export const LABEL_ERROR_TYPE = 'error_type';
export const LABEL_OUTCOME = 'hoptrace_outcome';
export const LABEL_PARTITION = 'messaging_destination_partition_id';
/** `hoptrace_dead_lettered_messages_total`, `hoptrace_invalid_context_total`, `..._spans_dropped_total`. */
export const LABEL_REASON = 'reason';
/** `hoptrace_queue_messages{state}`: a QueueState. */
export const LABEL_QUEUE_STATE = 'state';
/** `hoptrace_dlq_messages{dead_letter_source}`: the queue whose messages end up in this DLQ. */
export const LABEL_DEAD_LETTER_SOURCE = 'dead_letter_source';
/** `hoptrace_hop_latency_seconds{producer_service,consumer_service}`. */
export const LABEL_PRODUCER_SERVICE = 'producer_service';
export const LABEL_CONSUMER_SERVICE = 'consumer_service';
/** `hoptrace_collector_last_success_timestamp_seconds{source}`: which broker poller succeeded. */
export const LABEL_COLLECTOR_SOURCE = 'source';
/** Exemplar label that carries the trace ID on the histograms (OpenMetrics); Grafana links it to Jaeger. */
export const EXEMPLAR_TRACE_ID = 'trace_id';

export type QueueState = 'ready' | 'unacked';

/** Values of the `hoptrace_consumer_lag_status` gauge (Burrow-style evaluation of a group's offsets). */
export const LAG_STATUS = { OK: 0, WARN: 1, STALL: 2, STOP: 3 } as const;
export type LagStatus = keyof typeof LAG_STATUS;

export const METRIC_SENT_MESSAGES = 'messaging_client_sent_messages_total';
export const METRIC_CONSUMED_MESSAGES = 'messaging_client_consumed_messages_total';
export const METRIC_OPERATION_DURATION = 'messaging_client_operation_duration_seconds';
export const METRIC_PROCESS_DURATION = 'messaging_process_duration_seconds';
export const METRIC_MESSAGE_AGE = 'hoptrace_message_age_seconds';
export const METRIC_FLOW_AGE = 'hoptrace_flow_age_seconds';
export const METRIC_DEAD_LETTERED = 'hoptrace_dead_lettered_messages_total';
export const METRIC_REDELIVERIES = 'hoptrace_redeliveries_total';
export const METRIC_IN_FLIGHT = 'hoptrace_in_flight_messages';
export const METRIC_LAST_PROCESSED = 'hoptrace_consumer_last_processed_timestamp_seconds';
export const METRIC_INVALID_CONTEXT = 'hoptrace_invalid_context_total';

export const METRIC_CONSUMER_LAG_MESSAGES = 'hoptrace_consumer_lag_messages';
export const METRIC_CONSUMER_LAG_SECONDS = 'hoptrace_consumer_lag_seconds';
export const METRIC_CONSUMER_LAG_STATUS = 'hoptrace_consumer_lag_status';
/**
 * Kafka offsets and groups, named after kafka_exporter's series (`kafka_consumergroup_current_offset`
 * -> `hoptrace_kafka_consumergroup_current_offset`) with hoptrace's labels; see docs/kafka.md.
 */
export const METRIC_KAFKA_GROUP_OFFSET = 'hoptrace_kafka_consumergroup_current_offset';
export const METRIC_KAFKA_PARTITION_OFFSET = 'hoptrace_kafka_topic_partition_current_offset';
export const METRIC_KAFKA_PARTITION_OLDEST_OFFSET = 'hoptrace_kafka_topic_partition_oldest_offset';
export const METRIC_KAFKA_GROUP_LOST_MESSAGES = 'hoptrace_kafka_consumergroup_lost_messages';
export const METRIC_KAFKA_GROUP_MEMBERS = 'hoptrace_kafka_consumergroup_members';
export const METRIC_KAFKA_GROUP_STATE = 'hoptrace_kafka_consumergroup_state';
export const METRIC_KAFKA_GROUP_UNCOMMITTED = 'hoptrace_kafka_consumergroup_uncommitted_partitions';
export const METRIC_KAFKA_GROUP_LAG_SUM = 'hoptrace_kafka_consumergroup_lag_sum';
export const METRIC_KAFKA_GROUP_LAG_MAX = 'hoptrace_kafka_consumergroup_lag_max';
/** `hoptrace_kafka_consumergroup_state{state}`: DescribeGroups' state (Stable, Empty, ...), value 1. */
export const LABEL_KAFKA_GROUP_STATE = 'state';
export const METRIC_QUEUE_MESSAGES = 'hoptrace_queue_messages';
export const METRIC_QUEUE_CONSUMERS = 'hoptrace_queue_consumers';
export const METRIC_QUEUE_OLDEST_AGE = 'hoptrace_queue_oldest_message_age_seconds';
/** 1 while a queue is paused (BullMQ), from the collector. */
export const METRIC_QUEUE_PAUSED = 'hoptrace_queue_paused';
/** Jobs a BullMQ worker's stalled-job check found (their worker died or blocked the event loop). */
export const METRIC_STALLED_JOBS = 'hoptrace_stalled_jobs_total';
export const METRIC_DLQ_MESSAGES = 'hoptrace_dlq_messages';
export const METRIC_HOP_LATENCY = 'hoptrace_hop_latency_seconds';
export const METRIC_FANOUT_DELIVERIES = 'hoptrace_fanout_deliveries';
export const METRIC_UNCONSUMED = 'hoptrace_unconsumed_messages_total';
export const METRIC_ORPHAN_DELIVERIES = 'hoptrace_orphan_deliveries_total';
export const METRIC_DUPLICATE_DELIVERIES = 'hoptrace_duplicate_deliveries_total';
export const METRIC_COLLECTOR_UP = 'hoptrace_collector_up';
export const METRIC_COLLECTOR_LAST_SUCCESS = 'hoptrace_collector_last_success_timestamp_seconds';
export const METRIC_COLLECTOR_SPANS_RECEIVED = 'hoptrace_collector_spans_received_total';
export const METRIC_COLLECTOR_SPANS_DROPPED = 'hoptrace_collector_spans_dropped_total';

/** Label value for destinations past the cardinality limit. */
export const OTHER_DESTINATION = '__other__';
/** RabbitMQ's default exchange has an empty name; metrics and spans use this instead. */
export const AMQP_DEFAULT_EXCHANGE = 'amq.default';

/** The logical service a span belongs to when one process hosts several (the `serviceName` option). */
export const ATTR_HOPTRACE_SERVICE_NAME = 'hoptrace.service.name';
/** Set on a consumer span that ended before its message was settled (settle timeout, channel closed). */
export const ATTR_HOPTRACE_UNSETTLED = 'hoptrace.unsettled';

// --- headers added to a dead-lettered message (bus and Kafka; RabbitMQ writes its own `x-death`)
export const HEADER_DEAD_LETTER_REASON = 'x-hoptrace-dead-letter-reason';
export const HEADER_DEAD_LETTER_ERROR = 'x-hoptrace-dead-letter-error';
export const HEADER_DEAD_LETTER_ATTEMPTS = 'x-hoptrace-dead-letter-attempts';
export const HEADER_DEAD_LETTER_SOURCE = 'x-hoptrace-dead-letter-source';
export const HEADER_DEAD_LETTER_GROUP = 'x-hoptrace-dead-letter-group';
/** Kafka: the last error's `error.type`. */
export const HEADER_DEAD_LETTER_ERROR_TYPE = 'x-hoptrace-dead-letter-error-type';
/** Kafka: partition and offset of the record in the source topic (`x-hoptrace-dead-letter-source`). */
export const HEADER_DEAD_LETTER_SOURCE_PARTITION = 'x-hoptrace-dead-letter-source-partition';
export const HEADER_DEAD_LETTER_SOURCE_OFFSET = 'x-hoptrace-dead-letter-source-offset';
/** Epoch ms the message was dead-lettered, decimal. */
export const HEADER_DEAD_LETTER_AT = 'x-hoptrace-dead-letter-at';

// --- RabbitMQ specifics (hoptrace/amqp)
/** Set (true) on a producer span whose `publish()` returned false: the channel's write buffer is full. */
export const ATTR_HOPTRACE_PUBLISH_BACKPRESSURE = 'hoptrace.publish.backpressure';
/** How many times the message was dead-lettered from `hoptrace.dead_letter.source` for this reason. */
export const ATTR_HOPTRACE_DEAD_LETTER_COUNT = 'hoptrace.dead_letter.count';
/** The exchange the message was published to before it was dead-lettered. */
export const ATTR_HOPTRACE_DEAD_LETTER_EXCHANGE = 'hoptrace.dead_letter.exchange';
/** Span event on a producer span (or a `return` span) when the broker returned an unroutable mandatory message. */
export const EVENT_HOPTRACE_RETURNED = 'hoptrace.returned';
export const ATTR_HOPTRACE_RETURN_REPLY_CODE = 'hoptrace.return.reply_code';
export const ATTR_HOPTRACE_RETURN_REPLY_TEXT = 'hoptrace.return.reply_text';
/** Mandatory messages the broker returned as unroutable, by `reason` (`no_route`, `no_consumers`, `other`). */
export const METRIC_RETURNED = 'hoptrace_returned_messages_total';
/** Quorum queues count failed deliveries in this header (absent on the first delivery). */
export const HEADER_AMQP_DELIVERY_COUNT = 'x-delivery-count';
/** RabbitMQ's dead-letter history header: an array of tables, most recent event first. */
export const HEADER_AMQP_X_DEATH = 'x-death';

// --- AWS SQS and SNS specifics (hoptrace/aws)
/** Where a producer put hoptrace's context: `attributes`, `packed`, `aws_trace_header` or `none` (docs/aws.md). */
export const ATTR_HOPTRACE_PROPAGATION = 'hoptrace.propagation';
/** Sends whose hoptrace context did not fully fit the message (`reason`: `aws_trace_header`, `attribute_limit`, `size_limit`). */
export const METRIC_CONTEXT_NOT_PROPAGATED = 'hoptrace_context_not_propagated_total';

// --- BullMQ specifics (hoptrace/bullmq)
/** The job's name (BullMQ's own attribute name); never a metric label. */
export const ATTR_BULLMQ_JOB_NAME = 'bullmq.job.name';
/** A delayed job's delay in ms: its message age counts from when it became due. */
export const ATTR_HOPTRACE_DELAY_MS = 'hoptrace.delay_ms';
/** The backoff before the next attempt of a failed job, in ms (outcome `retry`). */
export const ATTR_HOPTRACE_RETRY_DELAY_MS = 'hoptrace.retry.delay_ms';
/**
 * On a span link: what the linked span is to this one. `flow_child`: a child job's producer span, on
 * a BullMQ flow parent's consumer span; the collector does not count such links as deliveries.
 */
export const ATTR_HOPTRACE_LINK_KIND = 'hoptrace.link.kind';
export const LINK_KIND_FLOW_CHILD = 'flow_child';
/** Consumer spans of a flow's parent job: how many children it waited for. */
export const ATTR_HOPTRACE_FLOW_CHILDREN = 'hoptrace.flow.children';

// --- collector (span linking, synthetic spans, self-health)
/** Set on spans the collector makes itself (synthetic `deliver <destination>` spans). */
export const ATTR_HOPTRACE_SYNTHETIC = 'hoptrace.synthetic';
/** Publish start -> consumer span start of one delivery, in milliseconds. */
export const ATTR_HOPTRACE_HOP_LATENCY_MS = 'hoptrace.hop.latency_ms';
/** How the collector matched a delivery to its publish: `parent|link|message_id|correlation_id`. */
export const ATTR_HOPTRACE_LINK_MATCH = 'hoptrace.link.match';
/** The consuming service of a delivery (on synthetic spans, whose resource is that service too). */
export const ATTR_HOPTRACE_CONSUMER_SERVICE = 'hoptrace.consumer.service.name';

export const METRIC_DEAD_LETTER_HOPS = 'hoptrace_dead_letter_hops_total';
export const METRIC_COLLECTOR_EVICTIONS = 'hoptrace_collector_evictions_total';
export const METRIC_COLLECTOR_TRACKED_MESSAGES = 'hoptrace_collector_tracked_messages';

// --- Google Cloud Pub/Sub specifics (hoptrace/pubsub)
/** The subscription a consumer span read from (OTel semconv); also its `messaging.destination.name`. */
export const ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME = 'messaging.destination.subscription.name';
export const ATTR_MESSAGING_GCP_PUBSUB_ORDERING_KEY = 'messaging.gcp_pubsub.message.ordering_key';
/** Pub/Sub's own attempt count: set only on subscriptions with a dead-letter policy. */
export const ATTR_MESSAGING_GCP_PUBSUB_DELIVERY_ATTEMPT = 'messaging.gcp_pubsub.message.delivery_attempt';
/** How many of hoptrace's message attributes were left out to stay within Pub/Sub's attribute limits. */
export const ATTR_HOPTRACE_PROPAGATION_DROPPED = 'hoptrace.propagation.dropped';
/** The trace context attribute `@google-cloud/pubsub` writes and reads when its own OTel tracing is on. */
export const HEADER_GCP_PUBSUB_CLIENT_TRACEPARENT = 'googclient_traceparent';
/** Attributes Pub/Sub adds to a message it forwards to a dead-letter topic. */
export const HEADER_GCP_PUBSUB_DEAD_LETTER_SOURCE_SUBSCRIPTION = 'CloudPubSubDeadLetterSourceSubscription';
export const HEADER_GCP_PUBSUB_DEAD_LETTER_SOURCE_DELIVERY_COUNT = 'CloudPubSubDeadLetterSourceDeliveryCount';

// --- temporary and anonymous destinations (see destinations.ts)
/** True when the destination is temporary and might not exist anymore after its messages are processed. */
export const ATTR_MESSAGING_DESTINATION_TEMPORARY = 'messaging.destination.temporary';
/** True when the destination is anonymous: unnamed, or its name was generated (server-named queues). */
export const ATTR_MESSAGING_DESTINATION_ANONYMOUS = 'messaging.destination.anonymous';
/** Low-cardinality stand-in for the destination name, used in span names and metric labels when set. */
export const ATTR_MESSAGING_DESTINATION_TEMPLATE = 'messaging.destination.template';
/** Span-name and label placeholder of a temporary destination (the name the semconv used before templates). */
export const TEMPORARY_DESTINATION = '(temporary)';
/** Span-name and label placeholder of an anonymous destination that is not known to be temporary. */
export const ANONYMOUS_DESTINATION = '(anonymous)';
