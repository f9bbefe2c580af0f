/**
 * The traced consumer. `run()` gets a copy of the caller's config whose `eachMessage` / `eachBatch`
 * are wrapped; every other method (pause, resume, seek, commitOffsets, describeGroup, on, events...)
 * passes through.
 *
 * `eachMessage`: one delivery per call (`process {topic}` span, outcome `ack` when the handler resolves).
 * A throw passes through as the same error object, so kafkajs retries exactly as it would without
 * hoptrace; the outcome is `retry` because kafkajs will deliver that offset again. With `deadLetter`,
 * the `maxAttempts`-th failure writes the message to the dead-letter topic and resolves instead
 * (outcome `dead_letter`), so the offset commits.
 *
 * Attempts are counted per consumer and partition: kafkajs re-delivers a failed offset before any later
 * one, so the last failed offset of each partition is all there is to remember.
 */
import type {
  Consumer,
  ConsumerRunConfig,
  EachBatchHandler,
  EachBatchPayload,
  EachMessageHandler,
  EachMessagePayload,
} from 'kafkajs';
import { startBatchDelivery } from '../core/batch.js';
import { type Delivery, startDelivery } from '../core/delivery.js';
import { ATTR_MESSAGING_DESTINATION_PARTITION_ID } from '../core/semconv.js';
import { DeadLetterWriter } from './dead-letter.js';
import type { KafkaWrapContext } from './internal-types.js';
import { registerMessageScope } from './message-context.js';
import { consumerAttributes, deadLetterInfoOf, recordTimestamp } from './utils.js';

/** Failed attempts at the offset a partition is stuck on. */
class AttemptTracker {
  private readonly failed = new Map<string, { offset: string; failures: number }>();

  attemptFor(topic: string, partition: number, offset: string): number {
    // Nothing failed (the common case): no key string to build.
    if (this.failed.size === 0) return 1;
    const entry = this.failed.get(`${topic}\0${partition}`);
    return entry && entry.offset === offset ? entry.failures + 1 : 1;
  }

  failedAt(topic: string, partition: number, offset: string, attempt: number): void {
    this.failed.set(`${topic}\0${partition}`, { offset, failures: attempt });
  }

  done(topic: string, partition: number): void {
    if (this.failed.size > 0) this.failed.delete(`${topic}\0${partition}`);
  }
}

export function wrapConsumer(
  ctx: KafkaWrapContext,
  consumer: Consumer,
  groupId: string | undefined,
): Consumer {
  const { instr } = ctx;
  const attempts = new AttemptTracker();
  const deadLetters = ctx.deadLetter ? new DeadLetterWriter(ctx, groupId) : undefined;

  const startMessageDelivery = (payload: EachMessagePayload, attempt: number): Delivery => {
    const { topic, partition, message } = payload;
    return startDelivery(instr, {
      destination: topic,
      consumerGroup: groupId,
      headers: message.headers,
      attempt,
      publishedAtFallback: recordTimestamp(message),
      deadLetter: deadLetterInfoOf(message.headers),
      attributes: consumerAttributes(partition, message),
      message: { topic, partition, message },
      // The wrapper settles as soon as the handler finishes: no settle timer needed.
      settleTimeoutMs: false,
    });
  };

  /** Settles a failed attempt: dead-letters it (resolves) or records `retry` and rethrows the same error. */
  const failed = async (
    payload: EachMessagePayload,
    delivery: Delivery,
    attempt: number,
    error: unknown,
  ): Promise<void> => {
    const { topic, partition, message } = payload;
    const maxAttempts = ctx.deadLetter?.maxAttempts;
    if (deadLetters && maxAttempts !== undefined && attempt >= maxAttempts) {
      let written = false;
      try {
        await deadLetters.write(payload, error, attempt, delivery);
        written = true;
      } catch (writeError) {
        instr.guard.logger.error(
          `could not write the dead letter of ${topic}/${partition}@${message.offset}; kafkajs will retry it`,
          writeError,
        );
      }
      if (written) {
        instr.guard.do('dead letter', () => {
          attempts.done(topic, partition);
          instr.metrics.consumer(instr.system, topic, groupId).deadLettered('max_attempts');
          delivery.settle('dead_letter', { error, deadLetterReason: 'max_attempts' });
        });
        return;
      }
    }
    instr.guard.do('retry', () => {
      attempts.failedAt(topic, partition, message.offset, attempt);
      delivery.settle('retry', { error });
    });
    throw error;
  };

  const wrapEachMessage =
    (handler: EachMessageHandler): EachMessageHandler =>
    (payload) => {
      // Per message: plain try/catch rather than guard closures.
      let attempt: number;
      let delivery: Delivery;
      try {
        attempt = attempts.attemptFor(payload.topic, payload.partition, payload.message.offset);
        delivery = startMessageDelivery(payload, attempt);
      } catch (err) {
        instr.guard.report('eachMessage', err);
        return handler(payload);
      }
      let result: Promise<void>;
      try {
        result = delivery.run(() => handler(payload));
      } catch (err) {
        return failed(payload, delivery, attempt, err);
      }
      return Promise.resolve(result).then(
        () => {
          try {
            attempts.done(payload.topic, payload.partition);
            delivery.settle('ack');
          } catch (err) {
            instr.guard.report('ack', err);
          }
        },
        (err: unknown) => failed(payload, delivery, attempt, err),
      );
    };

  const wrapEachBatch =
    (handler: EachBatchHandler): EachBatchHandler =>
    (payload: EachBatchPayload) => {
      const { batch } = payload;
      const started = instr.guard.run(
        'eachBatch',
        () => {
          const delivery = startBatchDelivery(instr, {
            destination: batch.topic,
            consumerGroup: groupId,
            messages: batch.messages.map((m) => ({
              headers: m.headers,
              publishedAtFallback: recordTimestamp(m),
            })),
            attributes: { [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(batch.partition) },
          });
          batch.messages.forEach((message, index) => {
            let attempt = 0;
            registerMessageScope(message, {
              start: () => {
                attempt += 1;
                return delivery.startMessage(index, {
                  attempt,
                  deadLetter: deadLetterInfoOf(message.headers),
                  attributes: consumerAttributes(batch.partition, message),
                  message: { topic: batch.topic, partition: batch.partition, message },
                  settleTimeoutMs: false,
                });
              },
            });
          });
          return delivery;
        },
        () => undefined,
      );
      if (!started) return handler(payload);
      let result: Promise<void>;
      try {
        result = started.run(() => handler(payload));
      } catch (err) {
        started.settle('retry', { error: err });
        throw err;
      }
      return Promise.resolve(result).then(
        () => started.settle('ack'),
        (err: unknown) => {
          started.settle('retry', { error: err });
          throw err;
        },
      );
    };

  const run = (config?: ConsumerRunConfig): Promise<void> => {
    const wrapped = instr.guard.run(
      'run',
      () => {
        if (!config) return config;
        const copy: ConsumerRunConfig = { ...config };
        if (typeof config.eachMessage === 'function') copy.eachMessage = wrapEachMessage(config.eachMessage);
        if (typeof config.eachBatch === 'function') copy.eachBatch = wrapEachBatch(config.eachBatch);
        return copy;
      },
      () => config,
    );
    return consumer.run(wrapped);
  };

  const disconnect = async (): Promise<void> => {
    try {
      await consumer.disconnect();
    } finally {
      if (deadLetters) {
        await deadLetters.close().catch((err: unknown) => {
          instr.guard.logger.warn('closing the dead-letter producer failed', err);
        });
      }
    }
  };

  return new Proxy(consumer, {
    get(target, prop, receiver) {
      if (prop === 'run') return run;
      if (prop === 'disconnect') return disconnect;
      return Reflect.get(target, prop, receiver);
    },
  });
}
