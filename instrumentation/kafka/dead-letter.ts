/**
 * Dead-lettering for `eachMessage` handlers: after `maxAttempts` failures the message is produced to the
 * dead-letter topic with its key, value and original headers (so its `traceparent` and correlation ID
 * still name the original flow) plus `x-hoptrace-dead-letter-*` headers. The write is traced as a
 * `send {dlq}` span under the failed delivery's span.
 */
import type { EachMessagePayload, Producer } from 'kafkajs';
import type { Delivery } from '../core/delivery.js';
import { startPublish } from '../core/publish.js';
import {
  ATTR_HOPTRACE_DEAD_LETTER_REASON,
  ATTR_HOPTRACE_DEAD_LETTER_SOURCE,
  type DeadLetterReason,
} from '../core/semconv.js';
import { errorTypeOf } from '../core/spans.js';
import type { KafkaWrapContext } from './internal-types.js';
import { deadLetterHeaders, deadLetterTopicFor, producerAttributes } from './utils.js';

export class DeadLetterWriter {
  private producer: Producer | undefined;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly ctx: KafkaWrapContext,
    private readonly group: string | undefined,
  ) {}

  /** Writes the dead letter; rejects when it could not be written (the caller then lets kafkajs retry). */
  async write(
    payload: EachMessagePayload,
    error: unknown,
    attempts: number,
    delivery: Delivery,
    reason: DeadLetterReason = 'max_attempts',
  ): Promise<void> {
    const options = this.ctx.deadLetter;
    if (!options) throw new Error('dead-lettering is not enabled');
    const { topic, partition, message } = payload;
    const target = deadLetterTopicFor(options.topic, topic);
    const headers = deadLetterHeaders(message.headers, {
      reason,
      error,
      errorType: errorTypeOf(error),
      attempts,
      topic,
      partition,
      offset: message.offset,
      group: this.group,
      at: Date.now(),
    });
    const outgoing = { key: message.key, value: message.value, headers };
    const publish = startPublish(this.ctx.instr, {
      destination: target,
      operationName: 'send',
      headers,
      messageIdHeader: true,
      attributes: {
        ...producerAttributes(outgoing, 1),
        [ATTR_HOPTRACE_DEAD_LETTER_REASON]: reason,
        [ATTR_HOPTRACE_DEAD_LETTER_SOURCE]: topic,
      },
      message: { topic: target, message: outgoing },
      parent: delivery.context,
    });
    try {
      const producer = await this.connected();
      await producer.send({
        topic: target,
        messages: [{ ...outgoing, headers: publish.headers as typeof headers }],
      });
      publish.end();
    } catch (err) {
      publish.end(err);
      throw err;
    }
  }

  private async connected(): Promise<Producer> {
    if (!this.producer) {
      this.producer = this.ctx.kafka.producer(this.ctx.deadLetter?.producerConfig);
      this.connecting = this.producer.connect();
    }
    try {
      await this.connecting;
    } catch (err) {
      // Next attempt reconnects from scratch.
      this.producer = undefined;
      this.connecting = undefined;
      throw err;
    }
    return this.producer as Producer;
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.connecting = undefined;
    if (producer) await producer.disconnect();
  }
}
