/**
 * Synthetic `deliver <destination>` spans. Jaeger draws parent/child edges but not span links, so a
 * delivery that is not a child in the producer's trace (link mode, batches, lost context) is
 * invisible from the producer's trace. For each such delivery the collector adds a span to the
 * flow's origin trace, covering the consumer span's time, with a link back to the consumer span.
 *
 * Where it hangs (`placeSynthetic`): under the publish when the publish is in the origin's trace; a
 * second hop (a publish made while handling a delivery that is itself only a synthetic span there)
 * hangs under that delivery's synthetic span; a delivery from a dead-letter queue (RabbitMQ: the
 * broker dead-letters, the message keeps its original trace context) hangs under the delivery that
 * dead-lettered it. So one trace shows the whole flow, every hop, retry and dead-letter path.
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
import { type DeliveryEntry, isDeadLetterQueueDelivery, type PublishEntry } from '../linker/entries.js';
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

/** A span in a trace: where a synthetic span hangs, or where a delivery shows in the origin's trace. */
export interface SpanSpot {
  traceId: string;
  spanId: string;
}

/** Finds the delivery of a journey whose span is `spanId`. */
export type DeliveryLookup = (journeyKey: string, spanId: string) => DeliveryEntry | undefined;

const MAX_PLACEMENT_DEPTH = 16;

/**
 * Where `delivery`'s synthetic span hangs in the origin's trace (its parent), and whether every entry
 * the answer depends on was known (`certain`: false while a parent delivery or the dead-lettering
 * delivery may still arrive). No synthetic span is needed when `anchor` is the delivery's own parent.
 */
export function placeSynthetic(
  publish: PublishEntry,
  delivery: DeliveryEntry,
  lookup: DeliveryLookup,
): { anchor: SpanSpot; certain: boolean; needed: boolean } {
  let certain = true;
  const publishSpot = (p: PublishEntry, depth: number): SpanSpot => {
    const own = { traceId: p.traceId, spanId: p.spanId };
    if (p.parentSpanId === undefined || depth > MAX_PLACEMENT_DEPTH) return own;
    const parent = lookup(p.journeyKey, p.parentSpanId);
    if (!parent) {
      // The parent may be a delivery not seen yet, or not a delivery at all (an HTTP span).
      certain = false;
      return own;
    }
    if (parent.traceId !== p.traceId || !parent.publish) return own;
    const spot = deliverySpot(parent, parent.publish, depth + 1);
    // The handling delivery is in the origin's trace itself: so is this publish, under it.
    return spot.traceId === p.traceId && spot.spanId === parent.spanId ? own : spot;
  };
  const anchorOf = (d: DeliveryEntry, p: PublishEntry, depth: number): SpanSpot => {
    if (depth <= MAX_PLACEMENT_DEPTH && isDeadLetterQueueDelivery(d, p)) {
      const failed = p.deliveries.find(
        (x) =>
          x.outcome === 'dead_letter' &&
          (d.deadLetterSource === undefined || x.destination === d.deadLetterSource),
      );
      if (failed) return deliverySpot(failed, p, depth + 1);
      certain = false;
    }
    return publishSpot(p, depth);
  };
  const deliverySpot = (d: DeliveryEntry, p: PublishEntry, depth: number): SpanSpot => {
    const anchor = anchorOf(d, p, depth);
    if (anchor.traceId === d.traceId && anchor.spanId === d.parentSpanId)
      return { traceId: d.traceId, spanId: d.spanId };
    return { traceId: anchor.traceId, spanId: syntheticSpanId(anchor.spanId, d.spanId) };
  };
  const anchor = anchorOf(delivery, publish, 0);
  const needed = anchor.traceId !== delivery.traceId || anchor.spanId !== delivery.parentSpanId;
  return { anchor, certain, needed };
}

export function syntheticDeliverySpan(
  publish: PublishEntry,
  delivery: DeliveryEntry,
  anchor: SpanSpot = { traceId: publish.traceId, spanId: publish.spanId },
): SpanRecord {
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
    traceId: anchor.traceId,
    spanId: syntheticSpanId(anchor.spanId, delivery.spanId),
    parentSpanId: anchor.spanId,
    name: `deliver ${delivery.destination}`,
    kind: 'internal',
    startTimeUnixNano: delivery.startNs,
    endTimeUnixNano: delivery.endNs,
    attributes,
    links: [{ traceId: delivery.traceId, spanId: delivery.spanId, attributes: {} }],
    serviceName: delivery.service,
    host: delivery.host,
    status: { code: delivery.statusError ? 'error' : 'unset' },
  };
}
