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
}

interface PendingConfirm {
  readonly op: PublishOperation;
  returned?: MessageReturnedError;
}

/** How a traced call reaches amqplib: the original arguments with options (and callback) replaced. */
interface PublishCall {
  method: 'publish' | 'sendToQueue';
  args: unknown[];
  exchange: unknown;
  routingKey: unknown;
  content: unknown;
  optionsIndex: number;
}

export class Publisher {
  /** Open producer spans awaiting their confirm, by message ID, so a return can be recorded on them. */
  private readonly awaitingConfirm = new Map<string, PendingConfirm>();
  private listeningForReturns = false;

  constructor(
    private readonly settings: AmqpSettings,
    private readonly target: RawChannel,
    private readonly confirmChannel: boolean,
  ) {}

  publish(args: unknown[]): unknown {
    return this.send({
      method: 'publish',
      args,
      exchange: args[0],
      routingKey: args[1],
      content: args[2],
      optionsIndex: 3,
    });
  }

  sendToQueue(args: unknown[]): unknown {
    return this.send({
      method: 'sendToQueue',
      args,
      exchange: '',
      routingKey: args[0],
      content: args[1],
      optionsIndex: 2,
    });
  }

  private send(call: PublishCall): unknown {
    const raw = this.target[call.method] as AnyFunction;
    const prepared = this.settings.instr.guard.run(
      'publish',
      () => this.prepare(call),
      () => undefined,
    );
    if (!prepared) return raw.apply(this.target, call.args);

    let result: unknown;
    try {
      result = raw.apply(this.target, prepared.args);
    } catch (err) {
      this.settings.instr.guard.do('publish failed', () => prepared.failed(err));
      throw err;
    }
    this.settings.instr.guard.do('publish sent', () => prepared.sent(result));
    return result;
  }

  private prepare(call: PublishCall) {
    const { instr } = this.settings;
    const callerOptions = call.args[call.optionsIndex];
    const options: AmqpPublishOptions =
      callerOptions !== null && typeof callerOptions === 'object'
        ? (callerOptions as AmqpPublishOptions)
        : {};
    const destination = exchangeDestination(call.exchange);

    const sentOptions: AmqpPublishOptions = shallowCopy(options);
    if (sentOptions.messageId === undefined || sentOptions.messageId === null)
      sentOptions.messageId = randomId();
    const message: AmqpPublishMessage = {
      exchange: typeof call.exchange === 'string' ? call.exchange : '',
      routingKey: typeof call.routingKey === 'string' ? call.routingKey : '',
      content: call.content as Buffer,
      options: sentOptions,
    };
    const callerHeaders = options.headers;
    const op = startPublish(instr, {
      destination,
      operationName: 'publish',
      headers: callerHeaders !== null && typeof callerHeaders === 'object' ? callerHeaders : undefined,
      messageId: typeof sentOptions.messageId === 'string' ? sentOptions.messageId : undefined,
      attributes: publishAttributes(call.routingKey, call.content),
      message,
    });
    sentOptions.headers = op.headers;
    if (sentOptions.timestamp === undefined || sentOptions.timestamp === null)
      sentOptions.timestamp = Math.floor(op.publishedAt / 1000); // seconds, as RabbitMQ reads it

    const args = [...call.args];
    args[call.optionsIndex] = sentOptions;
    if (sentOptions.mandatory) this.listenForReturns();

    let pending: PendingConfirm | undefined;
    if (this.confirmChannel) {
      pending = { op };
      // Only a mandatory message can come back before its confirm.
      const messageId = sentOptions.mandatory ? sentOptions.messageId : undefined;
      if (typeof messageId === 'string') this.awaitingConfirm.set(messageId, pending);
      const callbackIndex = call.optionsIndex + 1;
      const userCallback = call.args[callbackIndex];
      let publishReturnedAt = performance.now();
      const confirmed = pending;
      args[callbackIndex] = (...cbArgs: unknown[]) => {
        instr.guard.do('confirm', () => {
          const error = cbArgs[0];
          const failure =
            confirmed.returned ??
            (error !== null && error !== undefined ? new ConfirmFailedError(error) : undefined);
          instr.metrics
            .producer(instr.system, destination, 'publish')
            .operation(
              'confirm',
              (performance.now() - publishReturnedAt) / 1000,
              failure ? failure.errorType : '',
            );
          if (typeof messageId === 'string' && this.awaitingConfirm.get(messageId) === confirmed)
            this.awaitingConfirm.delete(messageId);
          confirmed.op.end(failure);
        });
        if (typeof userCallback === 'function') return (userCallback as AnyFunction)(...cbArgs);
      };
      return {
        args,
        sent(result: unknown) {
          publishReturnedAt = performance.now();
          if (result === false) op.span.setAttribute(ATTR_HOPTRACE_PUBLISH_BACKPRESSURE, true);
        },
        failed: (err: unknown) => {
          if (typeof messageId === 'string' && this.awaitingConfirm.get(messageId) === confirmed)
            this.awaitingConfirm.delete(messageId);
          op.end(err);
        },
      };
    }

    return {
      args,
      sent(result: unknown) {
        if (result === false) op.span.setAttribute(ATTR_HOPTRACE_PUBLISH_BACKPRESSURE, true);
        op.end();
      },
      failed(err: unknown) {
        op.end(err);
      },
    };
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
    const pending = messageId === undefined ? undefined : this.awaitingConfirm.get(messageId);
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
