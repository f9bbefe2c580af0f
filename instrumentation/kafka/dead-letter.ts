/**
 * Dead-lettering for `eachMessage` handlers: after `maxAttempts` failures the message is produced to the
 * dead-letter topic with its key, value and original headers (so its correlation ID still names the
 * original flow) plus the core's `x-hoptrace-dead-letter-*` headers. The write is traced as a
 * `send {dlq}` span under the failed delivery's span, and the dead letter carries that span's trace
 * context, not the original publish's: its consumer hangs under the dead-lettering event in trace
 * views, as on the bus and as the journey reads it (the original publish stays linked through it).
 */
import type { EachMessagePayload, IHeaders, Producer } from 'kafkajs';
import {
  ATTR_HOPTRACE_DEAD_LETTER_REASON,
  ATTR_HOPTRACE_DEAD_LETTER_SOURCE,
  type DeadLetterReason,
} from '../core/semconv.js';
import {
  type Delivery,
  deadLetterDestinationFor,
  deadLetterHeaders,
  LazyClient,
  startPublish,
} from '../transport/index.js';
import type { KafkaWrapContext } from './internal-types.js';
import { producerAttributes } from './utils.js';

export class DeadLetterWriter {
  private readonly producer: LazyClient<Producer>;

  constructor(
    private readonly ctx: KafkaWrapContext,
    private readonly group: string | undefined,
  ) {
    this.producer = new LazyClient(
      () => ctx.kafka.producer(ctx.deadLetter?.producerConfig),
      (producer) => producer.connect(),
      (producer) => producer.disconnect(),
    );
  }

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
    const target = deadLetterDestinationFor(options.topic, topic);
    const headers: IHeaders = deadLetterHeaders(message.headers, {
      reason,
      error,
      attempts,
      source: topic,
      partition,
      offset: message.offset,
      group: this.group,
      at: Date.now(),
    });
    // hoptrace's own publish: its span's context replaces the copied one (injected below).
    delete headers.traceparent;
    delete headers.tracestate;
    const outgoing = { key: message.key, value: message.value, headers };
    const publish = startPublish(this.ctx.instr, {
      destination: target,
      operationName: 'send',
      headers,
      messageIdHeader: true,
      brokerPublishTime: true,
      attributes: {
        ...producerAttributes(outgoing, 1),
        [ATTR_HOPTRACE_DEAD_LETTER_REASON]: reason,
        [ATTR_HOPTRACE_DEAD_LETTER_SOURCE]: topic,
      },
      message: { topic: target, message: outgoing },
      parent: delivery.context,
    });
    try {
      const producer = await this.producer.get();
      await producer.send({
        topic: target,
        messages: [
          { ...outgoing, headers: publish.headers as IHeaders, timestamp: String(publish.publishedAt) },
        ],
      });
      publish.end();
    } catch (err) {
      publish.end(err);
      throw err;
    }
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}
