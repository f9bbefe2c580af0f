/**
 * Synthetic `deliver <destination>` spans. Jaeger draws parent/child edges but not span links, so a
 * delivery that is not a child in the producer's trace (link mode, batches, lost context) is
 * invisible from the producer's trace. For each such delivery the collector adds a span to the
 * producer's trace, parented on the producer span, covering the consumer span's time, with a link
 * back to the consumer span.
 *
 * Kind INTERNAL, not CONSUMER: the span is an annotation made by the collector, not work done by an
 * instrumented consumer, and span-derived metrics (span metrics, service graphs) that count
 * CONSUMER spans would otherwise count each such delivery twice.
 */
import { createHash } from 'node:crypto';
import {
  ATTR_HOPTRACE_CONSUMER_SERVICE,
  ATTR_HOPTRACE_DEAD_LETTER_REASON,
  ATTR_HOPTRACE_DELIVERY_ATTEMPT,
  ATTR_HOPTRACE_HOP_LATENCY_MS,
  ATTR_HOPTRACE_LINK_MATCH,
  ATTR_HOPTRACE_OUTCOME,
  ATTR_HOPTRACE_SYNTHETIC,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
} from '../../instrumentation/core/semconv.js';
import type { DeliveryEntry, PublishEntry } from '../linker/entries.js';
import type { SpanAttributes, SpanRecord } from '../types.js';

/** Deterministic: the same delivery always gets the same span ID, so re-sent spans do not multiply. */
export function syntheticSpanId(publishSpanId: string, consumerSpanId: string): string {
  const digest = createHash('sha256').update(publishSpanId).update(consumerSpanId).digest();
  if (digest.subarray(0, 8).every((b) => b === 0)) digest[7] = 1;
  return digest.subarray(0, 8).toString('hex');
}

/** Whether a delivery needs a synthetic span: it is not in the producer's trace. */
export function needsSyntheticSpan(publish: PublishEntry, delivery: DeliveryEntry): boolean {
  return delivery.traceId !== publish.traceId;
}

export function syntheticDeliverySpan(publish: PublishEntry, delivery: DeliveryEntry): SpanRecord {
  const attributes: SpanAttributes = {
    [ATTR_HOPTRACE_SYNTHETIC]: true,
    [ATTR_MESSAGING_SYSTEM]: delivery.system,
    [ATTR_MESSAGING_DESTINATION_NAME]: delivery.destination,
    [ATTR_MESSAGING_OPERATION_TYPE]: 'deliver',
    [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: delivery.group,
    [ATTR_HOPTRACE_CONSUMER_SERVICE]: delivery.service,
  };
  if (delivery.outcome !== undefined) attributes[ATTR_HOPTRACE_OUTCOME] = delivery.outcome;
  if (delivery.attempt !== undefined) attributes[ATTR_HOPTRACE_DELIVERY_ATTEMPT] = delivery.attempt;
  if (delivery.latencyMs !== undefined) attributes[ATTR_HOPTRACE_HOP_LATENCY_MS] = delivery.latencyMs;
  if (delivery.matchedBy !== undefined) attributes[ATTR_HOPTRACE_LINK_MATCH] = delivery.matchedBy;
  if (delivery.deadLetterReason !== undefined)
    attributes[ATTR_HOPTRACE_DEAD_LETTER_REASON] = delivery.deadLetterReason;
  const messageId = delivery.messageId ?? publish.messageId;
  if (messageId !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ID] = messageId;
  const correlationId = delivery.correlationId ?? publish.correlationId;
  if (correlationId !== undefined) attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID] = correlationId;
  return {
    traceId: publish.traceId,
    spanId: syntheticSpanId(publish.spanId, delivery.spanId),
    parentSpanId: publish.spanId,
    name: `deliver ${delivery.destination}`,
    kind: 'internal',
    startTimeUnixNano: delivery.startNs,
    endTimeUnixNano: delivery.endNs,
    attributes,
    links: [{ traceId: delivery.traceId, spanId: delivery.spanId, attributes: {} }],
    serviceName: delivery.service,
    status: { code: delivery.statusError ? 'error' : 'unset' },
  };
}
