/**
 * Reads the messaging facts the linker needs from a span: its role (publish or delivery) and the
 * message fields (system, destination, message and correlation IDs, group, attempt, outcome).
 */

import { destinationLabelOf } from '../../instrumentation/core/destinations.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_HOPTRACE_DEAD_LETTER_REASON,
  ATTR_HOPTRACE_DEAD_LETTER_SOURCE,
  ATTR_HOPTRACE_DELIVERY_ATTEMPT,
  ATTR_HOPTRACE_LINK_KIND,
  ATTR_HOPTRACE_OUTCOME,
  ATTR_HOPTRACE_SERVICE_NAME,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_RABBITMQ_ROUTING_KEY,
  ATTR_MESSAGING_SYSTEM,
  LINK_KIND_FLOW_CHILD,
  MESSAGING_SYSTEM_GCP_PUBSUB,
} from '../../instrumentation/core/semconv.js';
import { numberAttribute, stringAttribute } from '../otlp/normalize.js';
import type { SpanRecord } from '../types.js';

export type MessagingRole = 'publish' | 'delivery';

/**
 * - publish: `messaging.operation.type` send (or the older `publish`, or `create` for per-message
 *   creation contexts of batch sends), or no operation type and kind PRODUCER.
 * - delivery: operation type `process` or `receive` (hoptrace's wrappers make one consumer span per
 *   delivery: `receive` for a pull such as AMQP `get`, `process` otherwise), or no operation type
 *   and kind CONSUMER. `settle` spans are not deliveries, nor are CLIENT `receive` spans (OTel semconv's
 *   kind for a pull whose messages are processed in their own spans, as SQS's are).
 * - none: Pub/Sub spans without an operation type (the Pub/Sub client's own tracing).
 */
export function roleOf(span: SpanRecord): MessagingRole | undefined {
  const op = span.attributes[ATTR_MESSAGING_OPERATION_TYPE];
  if (typeof op === 'string' && op !== '') {
    if (op === 'send' || op === 'publish' || op === 'create') return 'publish';
    if (op === 'process') return 'delivery';
    // A CLIENT `receive` span is a pull that hands messages to their own `process` spans (SQS).
    if (op === 'receive') return span.kind === 'client' ? undefined : 'delivery';
    return undefined;
  }
  // `@google-cloud/pubsub`'s own spans (`enableOpenTelemetryTracing`) carry no operation type (only the older
  // `messaging.operation`) and no message ID; hoptrace's wrapper makes the per-message spans, so these would
  // be phantom publishes (the client's `create` and batch `send`) and deliveries.
  if (span.attributes[ATTR_MESSAGING_SYSTEM] === MESSAGING_SYSTEM_GCP_PUBSUB) return undefined;
  if (span.kind === 'producer') return 'publish';
  if (span.kind === 'consumer') return 'delivery';
  return undefined;
}

/**
 * The logical service of a span: `hoptrace.service.name` when set (one process hosting several
 * services, e.g. the in-process bus), else the resource's `service.name`.
 */
export function serviceOf(span: SpanRecord): string {
  return stringAttribute(span.attributes, ATTR_HOPTRACE_SERVICE_NAME) ?? span.serviceName;
}

export interface MessageFields {
  system: string;
  destination: string;
  /** The destination in metrics and the map: a placeholder when it is temporary or anonymous. */
  destinationLabel: string;
  messageId: string | undefined;
  correlationId: string | undefined;
  routingKey: string | undefined;
}

export interface DeliveryFields extends MessageFields {
  /** Consumer group; else the destination (a RabbitMQ queue is its consumers' group); else the service. */
  group: string;
  /** The span named its group (`messaging.consumer.group.name`); false when `group` is a fallback. */
  groupNamed: boolean;
  attempt: number | undefined;
  outcome: string | undefined;
  deadLetterReason: string | undefined;
  deadLetterSource: string | undefined;
  errorType: string | undefined;
  /** More than one message in this span (Kafka eachBatch): match by links only. */
  batch: boolean;
}

const UNKNOWN = 'unknown';

export function messageFields(span: SpanRecord): MessageFields {
  const a = span.attributes;
  const destination = stringAttribute(a, ATTR_MESSAGING_DESTINATION_NAME) ?? UNKNOWN;
  return {
    system: stringAttribute(a, ATTR_MESSAGING_SYSTEM) ?? UNKNOWN,
    destination,
    destinationLabel: destinationLabelOf(destination, a),
    messageId: stringAttribute(a, ATTR_MESSAGING_MESSAGE_ID),
    correlationId: stringAttribute(a, ATTR_MESSAGING_MESSAGE_CONVERSATION_ID),
    routingKey: stringAttribute(a, ATTR_MESSAGING_RABBITMQ_ROUTING_KEY),
  };
}

export function deliveryFields(span: SpanRecord): DeliveryFields {
  const a = span.attributes;
  const destination = stringAttribute(a, ATTR_MESSAGING_DESTINATION_NAME) ?? UNKNOWN;
  const batchCount = numberAttribute(a, ATTR_MESSAGING_BATCH_MESSAGE_COUNT);
  const attempt = numberAttribute(a, ATTR_HOPTRACE_DELIVERY_ATTEMPT);
  const namedGroup = stringAttribute(a, ATTR_MESSAGING_CONSUMER_GROUP_NAME);
  return {
    system: stringAttribute(a, ATTR_MESSAGING_SYSTEM) ?? UNKNOWN,
    destination,
    destinationLabel: destinationLabelOf(destination, a),
    messageId: stringAttribute(a, ATTR_MESSAGING_MESSAGE_ID),
    correlationId: stringAttribute(a, ATTR_MESSAGING_MESSAGE_CONVERSATION_ID),
    routingKey: stringAttribute(a, ATTR_MESSAGING_RABBITMQ_ROUTING_KEY),
    group: namedGroup ?? (destination !== UNKNOWN ? destination : serviceOf(span)),
    groupNamed: namedGroup !== undefined,
    attempt: attempt !== undefined && attempt >= 1 ? Math.trunc(attempt) : undefined,
    outcome: stringAttribute(a, ATTR_HOPTRACE_OUTCOME),
    deadLetterReason: stringAttribute(a, ATTR_HOPTRACE_DEAD_LETTER_REASON),
    deadLetterSource: stringAttribute(a, ATTR_HOPTRACE_DEAD_LETTER_SOURCE),
    errorType: stringAttribute(a, ATTR_ERROR_TYPE),
    batch: (batchCount !== undefined && batchCount > 1) || messageLinks(span).length > 1,
  };
}

/** The links that name a message this span handled: not a BullMQ flow parent's links to its children. */
export function messageLinks(span: SpanRecord): SpanRecord['links'] {
  return span.links.some((l) => l.attributes[ATTR_HOPTRACE_LINK_KIND] === LINK_KIND_FLOW_CHILD)
    ? span.links.filter((l) => l.attributes[ATTR_HOPTRACE_LINK_KIND] !== LINK_KIND_FLOW_CHILD)
    : span.links;
}
