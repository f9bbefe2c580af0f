/**
 * Batch consumption (Kafka `eachBatch`): one `process {destination}` span linked to every message's
 * producer, plus a per-message delivery the handler can run each message's work in.
 *
 * Metrics stay per message. A message run through `startMessage` gets the whole delivery lifecycle (its
 * own span, age at its own start, its own process duration). A message the handler never ran that way is
 * counted once when the batch settles, with the batch's outcome and the age it had when the batch began,
 * but without a process duration: hoptrace does not know it, and the batch's duration is not the message's.
 */
import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  type Link,
  type Span,
  trace,
} from '@opentelemetry/api';
import { type Delivery, type DeliveryRequest, startDelivery } from './delivery.js';
import type { Instrumentation } from './instrumentation.js';
import { extractIncoming, type HeaderCarrier, type IncomingContext } from './propagation.js';
import {
  ATTR_HOPTRACE_OUTCOME,
  ATTR_HOPTRACE_SERVICE_NAME,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  type Outcome,
} from './semconv.js';
import { recordOutcomeStatus, startConsumerSpan } from './spans.js';
import { shallowCopy } from './utils.js';

export interface BatchMessage {
  headers?: HeaderCarrier | null;
  /** Publish time (epoch ms) when the headers have none, e.g. the Kafka record timestamp. */
  publishedAtFallback?: number;
}

export interface BatchDeliveryRequest {
  destination: string;
  consumerGroup?: string;
  /** `process` (default). */
  operationName?: string;
  messages: readonly BatchMessage[];
  attributes?: Attributes;
  /** Context to build on; default the active one. */
  base?: Context;
}

/** What a per-message delivery of a batch takes; destination, group and headers come from the batch. */
export type BatchMessageRequest<TMessage> = Omit<
  DeliveryRequest<TMessage>,
  'destination' | 'consumerGroup' | 'headers' | 'incoming' | 'producerSpan' | 'publishedAtFallback'
>;

/** `TMessage`: the client's message type hooks receive (the instrumentation's consume type). */
export interface BatchDelivery<TMessage = unknown> {
  readonly span: Span;
  /** The batch span's context: the batch handler runs in it. */
  readonly context: Context;
  readonly size: number;
  /** Runs `handler` in the batch's context. Its value or thrown error passes through untouched. */
  run<T>(handler: () => T): T;
  /**
   * Starts message `index`'s own delivery: a `process` span whose parent is the message's producer
   * (`linkMode: 'parent'`; the batch span when the message carried no context), linked to the producer
   * and to the batch span. Each call is one attempt; the caller settles it.
   */
  startMessage(index: number, req: BatchMessageRequest<TMessage>): Delivery;
  /** Ends the batch span; messages that never had their own delivery are counted with this outcome. First call wins. */
  settle(outcome: Outcome, detail?: { error?: unknown }): void;
  readonly settled: boolean;
}

export function startBatchDelivery<TPublish, TConsume>(
  instr: Instrumentation<TPublish, TConsume>,
  req: BatchDeliveryRequest,
): BatchDelivery<TConsume> {
  return instr.guard.run(
    'batch',
    () => startBatchUnguarded(instr, req),
    () => untracedBatch(instr, req),
  );
}

function untracedBatch<TPublish, TConsume>(
  instr: Instrumentation<TPublish, TConsume>,
  req: BatchDeliveryRequest,
): BatchDelivery<TConsume> {
  let settled = false;
  return {
    span: trace.wrapSpanContext(INVALID_SPAN_CONTEXT),
    context: req.base ?? context.active(),
    size: req.messages.length,
    run: (handler) => handler(),
    startMessage: (_index, message) =>
      startDelivery(instr, { ...message, destination: req.destination, consumerGroup: req.consumerGroup }),
    settle() {
      settled = true;
    },
    get settled() {
      return settled;
    },
  };
}

interface MessageState {
  incoming: IncomingContext;
  messageAgeSeconds: number | undefined;
  flowAgeSeconds: number;
  publishedAtFallback: number | undefined;
  /** The message had (at least one) delivery of its own: its metrics are recorded there. */
  delivered: boolean;
}

function startBatchUnguarded<TPublish, TConsume>(
  instr: Instrumentation<TPublish, TConsume>,
  req: BatchDeliveryRequest,
): BatchDelivery<TConsume> {
  const now = Date.now();
  const base = req.base ?? context.active();
  const messages: MessageState[] = req.messages.map((m) => {
    const incoming = extractIncoming(m.headers, instr.correlationHeader);
    for (const reason of incoming.invalid) instr.metrics.invalidContext(instr.system, reason);
    const publishedAt = incoming.publishedAt ?? m.publishedAtFallback;
    const originAt = incoming.originAt ?? publishedAt ?? now;
    return {
      incoming,
      messageAgeSeconds: publishedAt !== undefined ? (now - publishedAt) / 1000 : undefined,
      flowAgeSeconds: (now - originAt) / 1000,
      publishedAtFallback: m.publishedAtFallback,
      delivered: false,
    };
  });

  const links: Link[] = [];
  for (const m of messages) if (m.incoming.remote) links.push({ context: m.incoming.remote });
  const attributes: Attributes = shallowCopy(req.attributes);
  attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT] = messages.length;
  if (req.consumerGroup !== undefined) attributes[ATTR_MESSAGING_CONSUMER_GROUP_NAME] = req.consumerGroup;
  if (instr.serviceName) attributes[ATTR_HOPTRACE_SERVICE_NAME] = instr.serviceName;
  // The batch belongs to no single producer: a new trace, linked to each of them.
  const span = startConsumerSpan(
    instr.tracer,
    {
      system: instr.system,
      destination: req.destination,
      operationName: req.operationName ?? 'process',
      remote: undefined,
      linkMode: instr.linkMode,
      links,
      attributes,
    },
    base,
  );
  const batchContext = trace.setSpan(base, span);
  let settled = false;

  return {
    span,
    context: batchContext,
    size: messages.length,
    get settled() {
      return settled;
    },
    run<T>(handler: () => T): T {
      return context.with(batchContext, handler);
    },
    startMessage(index: number, message: BatchMessageRequest<TConsume>): Delivery {
      const state = messages[index];
      if (!state) {
        return startDelivery(instr, {
          ...message,
          destination: req.destination,
          consumerGroup: req.consumerGroup,
        });
      }
      state.delivered = true;
      const batchLink: Link = { context: span.spanContext() };
      return startDelivery(
        instr,
        Object.assign(shallowCopy(message), {
          destination: req.destination,
          consumerGroup: req.consumerGroup,
          incoming: state.incoming,
          // No producer context on the message: hang its delivery under the batch span, not a new root.
          producerSpan: state.incoming.remote ? undefined : span,
          publishedAtFallback: state.publishedAtFallback,
          links: state.incoming.remote ? [batchLink, ...(message.links ?? [])] : message.links,
        }),
      );
    },
    settle(outcome, detail) {
      if (settled) return;
      settled = true;
      instr.guard.do('batch settle', () => {
        span.setAttribute(ATTR_HOPTRACE_OUTCOME, outcome);
        const errorType = recordOutcomeStatus(span, outcome, detail?.error);
        const series = instr.metrics.consumer(instr.system, req.destination, req.consumerGroup);
        for (const m of messages) {
          if (m.delivered) continue;
          series.started(m.messageAgeSeconds, m.flowAgeSeconds, undefined);
          series.finished(outcome, undefined, errorType, undefined);
        }
        span.end();
      });
    },
  };
}
