/**
 * The producer side of one instrumented channel: `publish` and `sendToQueue`, publisher confirms and
 * mandatory returns.
 *
 * - The caller's options and headers are copied, never changed; `messageId` and `timestamp` are set on
 *   the copy only when the caller left them out.
 * - Plain channel: the span ends when `publish()` returns. Confirm channel: it ends at the broker's
 *   confirm (or nack, or channel close), and the confirm's latency is recorded as operation `confirm`.
 * - `publish()` returning false (write buffer full) is passed through and marked on the span.
 * - A returned mandatory message is counted (`hoptrace_returned_messages_total`) and recorded on its
 *   producer span while that is open (confirm channels: the broker sends the return before the
 *   confirm); otherwise as a short `return <exchange>` span under the producer span.
 */
import { type Attributes, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import {
  ATTR_HOPTRACE_PUBLISH_BACKPRESSURE,
  ATTR_HOPTRACE_RETURN_REPLY_CODE,
  ATTR_HOPTRACE_RETURN_REPLY_TEXT,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_SYSTEM,
  EVENT_HOPTRACE_RETURNED,
} from '../core/semconv.js';
import {
  extractIncoming,
  type PublishOperation,
  randomId,
  recordError,
  shallowCopy,
  startPublish,
} from '../transport/index.js';
import { ConfirmFailedError, MessageReturnedError } from './errors.js';
import type { AnyFunction } from './proxy.js';
import type { AmqpSettings } from './settings.js';
import type { AmqpMessage, AmqpPublishMessage, AmqpPublishOptions } from './types.js';
import { exchangeDestination, messageIdOf, publishAttributes, returnReason } from './utils.js';

export interface RawChannel {
  publish: AnyFunction;
  sendToQueue: AnyFunction;
  on(event: string, listener: AnyFunction): unknown;
  prependListener?(event: string, listener: AnyFunction): unknown;
}

/** A confirm-channel publish awaiting the broker's confirm. */
class PendingConfirm {
  /** When `publish()` returned: the confirm latency starts here. */
  sentAt = 0;
  /** Set for mandatory messages: a return is matched to its publish by message ID. */
  messageId: string | undefined;
  returned: MessageReturnedError | undefined;

  constructor(
    readonly op: PublishOperation,
    readonly destination: string,
  ) {}
}

/** amqplib's confirm bookkeeping on a channel (same in 0.10, 1.x and 2.x): slot i is delivery tag lwm + i. */
interface ConfirmWindow {
  lwm?: unknown;
  unconfirmed?: unknown;
}

/** The fields of amqplib's `ack` / `nack` channel events (the broker's confirm frame). */
interface ConfirmFields {
  deliveryTag?: unknown;
  multiple?: unknown;
}

/** A prepared publish: its operation (plain channel), or the confirm it awaits (confirm channel). */
type Prepared = PublishOperation | PendingConfirm;

/** What a publish gets as its hook's message when no publish hook is set (nothing reads it then). */
const UNHOOKED: AmqpPublishMessage = Object.freeze({
  exchange: '',
  routingKey: '',
  content: Buffer.alloc(0),
  options: Object.freeze({}),
});

function isPendingConfirm(prepared: Prepared): prepared is PendingConfirm {
  return prepared instanceof PendingConfirm;
}

export class Publisher {
  /** Open producer spans awaiting their confirm, by delivery tag (inserted in ascending tag order). */
  private readonly awaitingConfirm = new Map<number, PendingConfirm>();
  /** The mandatory ones among them, by message ID, so a return can be recorded on them. */
  private readonly awaitingReturn = new Map<string, PendingConfirm>();
  /** The next delivery tag, counted here only when amqplib's confirm window cannot be read. */
  private nextTag = 1;
  private listeningForReturns = false;
  private listeningForConfirms = false;

  constructor(
    private readonly settings: AmqpSettings,
    private readonly target: RawChannel,
    private readonly confirmChannel: boolean,
  ) {}

  /**
   * `publish(exchange, routingKey, content, options, ...)`. `args` is the channel wrapper's own rest array,
   * never seen by the caller: a traced publish replaces its options slot with hoptrace's copy.
   */
  publish(args: unknown[]): unknown {
    return this.send('publish', args, args[0], args[1], args[2], 3);
  }

  /** `sendToQueue(queue, content, options, ...)`; `args` as for `publish`. */
  sendToQueue(args: unknown[]): unknown {
    return this.send('sendToQueue', args, '', args[0], args[1], 2);
  }

  // Per message: plain try/catch and guard.report rather than guard closures.
  private send(
    method: 'publish' | 'sendToQueue',
    args: unknown[],
    exchange: unknown,
    routingKey: unknown,
    content: unknown,
    optionsIndex: number,
  ): unknown {
    const raw = this.target[method] as AnyFunction;
    const { guard } = this.settings.instr;
    let prepared: Prepared | undefined;
    try {
      prepared = this.prepare(args, exchange, routingKey, content, optionsIndex);
    } catch (err) {
      guard.report('publish', err);
    }
    // Not prepared: `args` is still the caller's arguments.
    if (!prepared) return raw.apply(this.target, args);

    let result: unknown;
    try {
      result = raw.apply(this.target, args);
    } catch (err) {
      try {
        if (isPendingConfirm(prepared)) {
          this.forgetReturn(prepared);
          prepared.op.end(err);
        } else prepared.end(err);
      } catch (failure) {
        guard.report('publish failed', failure);
      }
      throw err;
    }
    try {
      this.sent(prepared, result);
    } catch (err) {
      guard.report('publish sent', err);
    }
    return result;
  }

  /** Starts the publish and, as its last step, puts hoptrace's copy of the options into `args`. */
  private prepare(
    args: unknown[],
    exchange: unknown,
    routingKey: unknown,
    content: unknown,
    optionsIndex: number,
  ): Prepared {
    const { instr } = this.settings;
    const callerOptions = args[optionsIndex];
    const given = callerOptions !== null && typeof callerOptions === 'object';
    const options = (given ? callerOptions : {}) as AmqpPublishOptions;
    const destination = exchangeDestination(exchange);

    const sentOptions: AmqpPublishOptions = given ? shallowCopy(options) : {};
    if (sentOptions.messageId === undefined || sentOptions.messageId === null)
      sentOptions.messageId = randomId();
    // Only the publish hook reads it.
    const message: AmqpPublishMessage = instr.hooks.publishHook
      ? {
          exchange: typeof exchange === 'string' ? exchange : '',
          routingKey: typeof routingKey === 'string' ? routingKey : '',
          content: content as Buffer,
          options: sentOptions,
        }
      : UNHOOKED;
    const callerHeaders = options.headers;
    const op = startPublish(instr, {
      destination,
      operationName: 'publish',
      headers: callerHeaders !== null && typeof callerHeaders === 'object' ? callerHeaders : undefined,
      messageId: typeof sentOptions.messageId === 'string' ? sentOptions.messageId : undefined,
      applicationCorrelationId: this.settings.applicationCorrelationId ? options.correlationId : undefined,
      // Built only for a recording span.
      attributes: () => publishAttributes(routingKey, content),
      message,
    });
    sentOptions.headers = op.headers;
    if (sentOptions.timestamp === undefined || sentOptions.timestamp === null)
      sentOptions.timestamp = Math.floor(op.publishedAt / 1000); // seconds, as RabbitMQ reads it
    if (sentOptions.mandatory) this.listenForReturns();
    if (!this.confirmChannel) {
      args[optionsIndex] = sentOptions;
      return op;
    }

    // The caller's confirm callback (or its absence) goes to amqplib untouched: before 2.2.1 its close
    // handler drains every slot that has a callback, so passing one of ours where the caller passed
    // none would make `waitForConfirms()` resolve after a close instead of rejecting. The confirm is
    // observed through the channel's own `ack`/`nack`/`close` events, by delivery tag.
    this.listenForConfirms();
    const pending = new PendingConfirm(op, destination);
    // Only a mandatory message can come back before its confirm.
    const messageId = sentOptions.mandatory ? sentOptions.messageId : undefined;
    if (typeof messageId === 'string') {
      pending.messageId = messageId;
      this.awaitingReturn.set(messageId, pending);
    }
    args[optionsIndex] = sentOptions;
    return pending;
  }

  /** amqplib took the message: a plain channel's span ends now, a confirm channel's at the confirm. */
  private sent(prepared: Prepared, result: unknown): void {
    if (!isPendingConfirm(prepared)) {
      if (result === false) prepared.span.setAttribute(ATTR_HOPTRACE_PUBLISH_BACKPRESSURE, true);
      prepared.end();
      return;
    }
    prepared.sentAt = performance.now();
    if (result === false) prepared.op.span.setAttribute(ATTR_HOPTRACE_PUBLISH_BACKPRESSURE, true);
    this.awaitingConfirm.set(this.lastDeliveryTag(), prepared);
  }

  /** The delivery tag of the publish amqplib just took: the last slot of its confirm window. */
  private lastDeliveryTag(): number {
    const window = this.target as unknown as ConfirmWindow;
    const tag =
      typeof window.lwm === 'number' && Array.isArray(window.unconfirmed)
        ? window.lwm + window.unconfirmed.length - 1
        : this.nextTag;
    this.nextTag = tag + 1;
    return tag;
  }

  private listenForConfirms(): void {
    if (this.listeningForConfirms) return;
    this.listeningForConfirms = true;
    const { guard } = this.settings.instr;
    // Ahead of amqplib's own listeners, so a confirm callback that throws cannot hide the confirm.
    const listen = (event: string, listener: AnyFunction) =>
      typeof this.target.prependListener === 'function'
        ? this.target.prependListener(event, listener)
        : this.target.on(event, listener);
    listen('ack', (fields: ConfirmFields) => guard.do('confirm', () => this.confirmed(fields, undefined)));
    listen('nack', (fields: ConfirmFields) =>
      guard.do('confirm', () => this.confirmed(fields, new ConfirmFailedError('message nacked'))),
    );
    listen('close', () =>
      guard.do('confirm', () => {
        // amqplib fails every outstanding confirm with this error when the channel closes.
        const error = new ConfirmFailedError('channel closed');
        for (const pending of this.awaitingConfirm.values()) this.finishConfirm(pending, error);
        this.awaitingConfirm.clear();
        this.nextTag = 1;
      }),
    );
  }

  /** A `basic.ack` or `basic.nack` from the broker for `deliveryTag` (and, with `multiple`, every earlier tag). */
  private confirmed(fields: ConfirmFields, failure: ConfirmFailedError | undefined): void {
    const tag = fields?.deliveryTag;
    if (typeof tag !== 'number' || this.awaitingConfirm.size === 0) return;
    if (!fields.multiple) {
      const pending = this.awaitingConfirm.get(tag);
      if (!pending) return;
      this.awaitingConfirm.delete(tag);
      this.finishConfirm(pending, failure);
      return;
    }
    for (const [t, pending] of this.awaitingConfirm) {
      if (t > tag) break;
      this.awaitingConfirm.delete(t);
      this.finishConfirm(pending, failure);
    }
  }

  private finishConfirm(pending: PendingConfirm, failure: ConfirmFailedError | undefined): void {
    const { instr } = this.settings;
    const error = pending.returned ?? failure;
    instr.metrics
      .producer(instr.system, pending.destination, 'publish')
      .operation('confirm', (performance.now() - pending.sentAt) / 1000, error ? error.errorType : '');
    this.forgetReturn(pending);
    pending.op.end(error);
  }

  private forgetReturn(pending: PendingConfirm): void {
    const { messageId } = pending;
    if (messageId !== undefined && this.awaitingReturn.get(messageId) === pending)
      this.awaitingReturn.delete(messageId);
  }

  private listenForReturns(): void {
    if (this.listeningForReturns) return;
    this.listeningForReturns = true;
    this.target.on('return', (message: AmqpMessage) => {
      this.settings.instr.guard.do('return', () => this.returned(message));
    });
  }

  private returned(message: AmqpMessage): void {
    const { instr } = this.settings;
    const fields = message.fields as AmqpMessage['fields'] & { replyCode?: unknown; replyText?: unknown };
    const destination = exchangeDestination(fields.exchange);
    instr.metrics.producer(instr.system, destination, 'publish').returned(returnReason(fields.replyCode));

    const error = new MessageReturnedError(fields.replyCode, fields.replyText);
    const eventAttributes: Attributes = { [ATTR_HOPTRACE_RETURN_REPLY_TEXT]: error.errorType };
    if (error.replyCode !== undefined) eventAttributes[ATTR_HOPTRACE_RETURN_REPLY_CODE] = error.replyCode;

    const messageId = messageIdOf(message);
    const pending = messageId === undefined ? undefined : this.awaitingReturn.get(messageId);
    if (pending) {
      // The confirm follows; it ends the span with this error.
      pending.returned = error;
      pending.op.span.addEvent(EVENT_HOPTRACE_RETURNED, eventAttributes);
      return;
    }

    const producer = extractIncoming(message.properties.headers, instr.correlationHeader).remote;
    const parent = producer ? trace.setSpanContext(ROOT_CONTEXT, producer) : ROOT_CONTEXT;
    const attributes: Attributes = {
      [ATTR_MESSAGING_SYSTEM]: instr.system,
      [ATTR_MESSAGING_DESTINATION_NAME]: destination,
      [ATTR_MESSAGING_OPERATION_NAME]: 'return',
      ...publishAttributes(fields.routingKey, message.content),
    };
    if (messageId !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ID] = messageId;
    const span = instr.tracer.startSpan(
      `return ${destination}`,
      // INTERNAL, not CONSUMER: a return is not a delivery, and span linkers must not count it as one.
      { kind: SpanKind.INTERNAL, attributes, root: !producer },
      parent,
    );
    span.addEvent(EVENT_HOPTRACE_RETURNED, eventAttributes);
    recordError(span, error);
    span.end();
  }
}
