/**
 * The consumer side of one instrumented channel: `consume` handlers, `get`, and settling deliveries by
 * delivery tag (`ack`, `nack`, `reject`, `ackAll`, `nackAll`, incl. `allUpTo`).
 *
 * Outcomes: `ack`; `requeue` (nack/reject with requeue, amqplib's default); `dead_letter` (requeue=false
 * and the queue has a dead-letter exchange); `reject` (requeue=false, no known dead-letter exchange: the
 * broker drops it); `error` (the handler threw or rejected before the message was settled). noAck
 * deliveries settle as `ack` when the handler finishes. Deliveries still unsettled when the channel
 * closes end as abandoned (span marked `hoptrace.unsettled`, no outcome, not an error).
 */

import type { Attributes } from '@opentelemetry/api';
import type { ConsumerSeries } from '../core/metrics.js';
import {
  ATTR_HOPTRACE_DEAD_LETTER_COUNT,
  ATTR_HOPTRACE_DEAD_LETTER_EXCHANGE,
  ATTR_MESSAGING_DESTINATION_ANONYMOUS,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_TEMPLATE,
  ATTR_MESSAGING_DESTINATION_TEMPORARY,
  HEADER_AMQP_X_DEATH,
  type Outcome,
} from '../core/semconv.js';
import {
  type Delivery,
  type DestinationTraits,
  type HandlerOutcome,
  type RunHandlerOptions,
  runHandler,
  startDelivery,
} from '../transport/index.js';
import type { AnyFunction } from './proxy.js';
import type { AmqpSettings } from './settings.js';
import { topology } from './topology.js';
import type { AmqpMessage } from './types.js';
import {
  attemptOf,
  deliveryAttributes,
  isNewDeadLetterEvent,
  messageIdOf,
  negativeOutcome,
  parseXDeath,
  timestampMillisOf,
  type XDeathEntry,
} from './utils.js';

const KEEP_REJECTION_UNHANDLED: RunHandlerOptions = { keepRejectionUnhandled: true };

/**
 * How a handler run through `runHandler` finished, for one delivery: one object per message instead of
 * an outcome object with two closures. amqplib drops the handler's promise, so a rejection stays
 * unhandled as it would without hoptrace.
 */
class HandlerFinished implements HandlerOutcome {
  constructor(
    private readonly consumer: Consumer,
    private readonly delivery: Delivery,
    private readonly noAck: boolean,
  ) {}

  succeeded(): void {
    this.consumer.handlerFinished(this.delivery, this.noAck);
  }

  failed(error: unknown): void {
    this.consumer.handlerFinished(this.delivery, this.noAck, { error });
  }
}

/** The span attributes of one delivery, without object spreads (adding keys to a spread clone is slow on V8). */
function consumeAttributes(
  message: AmqpMessage,
  queue: QueueRef,
  latest: XDeathEntry | undefined,
): Attributes {
  const out = deliveryAttributes(message);
  out[ATTR_MESSAGING_DESTINATION_NAME] = queue.name;
  // A temporary queue is its placeholder in the span name and labels; the real name is an attribute.
  // Same attributes as destinationAttributes(), whose placeholder is the label of a flagged queue.
  const { temporary, anonymous } = queue.traits;
  if (temporary) out[ATTR_MESSAGING_DESTINATION_TEMPORARY] = true;
  if (anonymous) out[ATTR_MESSAGING_DESTINATION_ANONYMOUS] = true;
  if (temporary || anonymous) out[ATTR_MESSAGING_DESTINATION_TEMPLATE] = queue.label;
  if (latest) {
    out[ATTR_HOPTRACE_DEAD_LETTER_COUNT] = latest.count;
    if (latest.exchange !== undefined) out[ATTR_HOPTRACE_DEAD_LETTER_EXCHANGE] = latest.exchange;
  }
  return out;
}

/** A consumed queue: its real name, and the name its spans and metric labels use. */
export interface QueueRef {
  readonly name: string;
  readonly traits: DestinationTraits;
  /** The span name's and metric labels' destination: the placeholder of a temporary queue, else the name. */
  readonly label: string;
  /** The queue's consumer metrics, looked up on its first delivery and kept (no lookup per message). */
  series?: ConsumerSeries;
}

interface Tracked {
  readonly delivery: Delivery;
  readonly queue: string;
}

export interface RawEmitter {
  on(event: string, listener: AnyFunction): unknown;
}

export class Consumer {
  /** Unsettled deliveries by delivery tag (tags grow per channel, so insertion order is tag order). */
  private readonly unsettled = new Map<number, Tracked>();
  private listeningForClose = false;

  constructor(
    private readonly settings: AmqpSettings,
    private readonly target: RawEmitter,
  ) {}

  /** The handler amqplib calls instead of the user's: same arguments, same result, same errors. */
  wrapHandler(queue: QueueRef, handler: AnyFunction, noAck: boolean): AnyFunction {
    return (message: AmqpMessage | null, ...rest: unknown[]) => {
      // `null` tells the handler its consumer was cancelled by the broker: nothing to trace.
      if (message === null || typeof message !== 'object') return handler.call(undefined, message, ...rest);
      const delivery = this.start(message, queue, 'process', noAck);
      if (!delivery) return handler.call(undefined, message, ...rest);
      return runHandler(
        this.settings.instr.guard,
        delivery,
        rest.length === 0
          ? () => handler.call(undefined, message)
          : () => handler.call(undefined, message, ...rest),
        new HandlerFinished(this, delivery, noAck),
        KEEP_REJECTION_UNHANDLED,
      );
    };
  }

  /** Traces a message returned by `get` (span `receive <queue>`); it ends when settled. */
  received(message: unknown, queue: QueueRef, noAck: boolean): void {
    if (message === null || typeof message !== 'object') return;
    const delivery = this.start(message as AmqpMessage, queue, 'receive', noAck);
    if (!delivery) return;
    if (noAck) this.settings.instr.guard.do('settle', () => delivery.settle('ack'));
    else delivery.awaitSettle();
  }

  /** `ack`/`nack`/`reject` of `message` (and, with `allUpTo`, every earlier tag). */
  settle(message: unknown, allUpTo: boolean, kind: 'ack' | 'negative', requeue: boolean): void {
    if (this.unsettled.size === 0) return;
    const tag = (message as AmqpMessage | null)?.fields?.deliveryTag;
    if (typeof tag !== 'number') return;
    // amqplib's ackAll/nackAll send tag 0 with `multiple`: every outstanding delivery.
    if (allUpTo) this.settleWhere((t) => tag === 0 || t <= tag, kind, requeue);
    else {
      const tracked = this.unsettled.get(tag);
      if (tracked) this.finish(tag, tracked, kind, requeue);
    }
  }

  settleAll(kind: 'ack' | 'negative', requeue: boolean): void {
    this.settleWhere(() => true, kind, requeue);
  }

  private settleWhere(match: (tag: number) => boolean, kind: 'ack' | 'negative', requeue: boolean): void {
    for (const [tag, tracked] of this.unsettled) {
      if (!match(tag)) break;
      this.finish(tag, tracked, kind, requeue);
    }
  }

  private finish(tag: number, tracked: Tracked, kind: 'ack' | 'negative', requeue: boolean): void {
    this.unsettled.delete(tag);
    if (kind === 'ack') {
      tracked.delivery.settle('ack');
      return;
    }
    const deadLetterExchange = topology.deadLetterExchange(tracked.queue, this.settings.deadLetterExchanges);
    const outcome: Outcome = negativeOutcome(requeue, deadLetterExchange !== undefined);
    tracked.delivery.settle(
      outcome,
      outcome === 'dead_letter' ? { deadLetterReason: 'rejected' } : undefined,
    );
  }

  private start(
    message: AmqpMessage,
    queue: QueueRef,
    operationName: 'process' | 'receive',
    noAck: boolean,
  ): Delivery | undefined {
    // Per message: plain try/catch and guard.report rather than guard closures.
    try {
      const { properties } = message;
      const headers = properties?.headers;
      const latest = headers?.[HEADER_AMQP_X_DEATH] === undefined ? undefined : parseXDeath(headers)[0];
      const { instr } = this.settings;
      queue.series ??= instr.metrics.consumer(instr.system, queue.label, undefined);
      const delivery = startDelivery(instr, {
        destination: queue.label,
        series: queue.series,
        operationName,
        headers,
        messageId: messageIdOf(message),
        applicationCorrelationId: this.settings.applicationCorrelationId
          ? properties?.correlationId
          : undefined,
        attempt: attemptOf(message),
        redelivered: message.fields.redelivered === true,
        publishedAtFallback: timestampMillisOf(message),
        deadLetter: latest && {
          reason: latest.reason,
          source: latest.queue,
          count: isNewDeadLetterEvent(message, latest),
        },
        // Built only for a recording span.
        attributes: () => consumeAttributes(message, queue, latest),
        message,
        settleTimeoutMs: this.settings.settleTimeoutMs,
      });
      if (!noAck) {
        this.listenForClose();
        this.unsettled.set(message.fields.deliveryTag, { delivery, queue: queue.name });
      }
      return delivery;
    } catch (err) {
      this.settings.instr.guard.report('consume', err);
      return undefined;
    }
  }

  /** The handler finished: a noAck delivery settles now; a failure before any settle settles as `error`. */
  handlerFinished(delivery: Delivery, noAck: boolean, error?: { error: unknown }): void {
    if (!error) {
      if (noAck) delivery.settle('ack');
      return;
    }
    // Failed after settling (an ack, then a throw): the delivery records the error on its span.
    if (delivery.settled) return;
    this.forget(delivery);
    delivery.settle('error', error);
  }

  private forget(delivery: Delivery): void {
    for (const [tag, tracked] of this.unsettled) {
      if (tracked.delivery === delivery) {
        this.unsettled.delete(tag);
        return;
      }
    }
  }

  private listenForClose(): void {
    if (this.listeningForClose) return;
    this.listeningForClose = true;
    this.target.on('close', () => {
      this.settings.instr.guard.do('channel close', () => {
        for (const tracked of this.unsettled.values()) tracked.delivery.abandon('channel closed');
        this.unsettled.clear();
      });
    });
  }
}
