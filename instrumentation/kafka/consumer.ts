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
  KafkaMessage,
} from 'kafkajs';
import type { ConsumerSeries } from '../core/metrics.js';
import { ATTR_MESSAGING_DESTINATION_PARTITION_ID } from '../core/semconv.js';
import {
  type AwaitedHandlerOutcome,
  type BatchDelivery,
  type Delivery,
  deadLetterInfoOf,
  runHandlerAwaited,
  settleDeadLettered,
  startBatchDelivery,
  startDelivery,
} from '../transport/index.js';
import { DeadLetterWriter } from './dead-letter.js';
import type { KafkaInstr, KafkaWrapContext } from './internal-types.js';
import { type MessageScope, registerMessageScope } from './message-context.js';
import type { KafkaConsumeMessage } from './types.js';
import { consumerAttributes, recordTimestamp } from './utils.js';

/** How one `eachMessage` handler finished: one object per message instead of an object and two closures. */
class MessageFinished implements AwaitedHandlerOutcome {
  constructor(
    private readonly consumer: TracedConsumer,
    private readonly payload: EachMessagePayload,
    private readonly delivery: Delivery,
    private readonly attempt: number,
  ) {}

  succeeded(): void {
    this.consumer.acked(this.payload, this.delivery);
  }

  failed(error: unknown): Promise<boolean> {
    return this.consumer.failedAttempt(this.payload, this.delivery, this.attempt, error);
  }
}

/** One message of a traced batch, for `withMessageContext`: each `start()` is a new attempt at it. */
class BatchMessageScope implements MessageScope, KafkaConsumeMessage {
  private attempts = 0;

  constructor(
    private readonly batch: BatchDelivery,
    private readonly index: number,
    private readonly hooked: boolean,
    private readonly series: ConsumerSeries,
    readonly topic: string,
    readonly partition: number,
    readonly message: KafkaMessage,
  ) {}

  start(): Delivery {
    this.attempts += 1;
    const { topic, partition, message } = this;
    return this.batch.startMessage(this.index, {
      attempt: this.attempts,
      series: this.series,
      deadLetter: deadLetterInfoOf(message.headers),
      attributes: () => consumerAttributes(partition, message),
      // Only hooks read it: without hooks, this scope stands in (it has the same three fields).
      message: this.hooked ? { topic, partition, message } : this,
      settleTimeoutMs: false,
    });
  }
}

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
  return new TracedConsumer(ctx, consumer, groupId).proxy();
}

/** One consumer's tracing state (attempts, dead-letter producer) and the steps of its two handler kinds. */
class TracedConsumer {
  private readonly instr: KafkaInstr;
  private readonly attempts = new AttemptTracker();
  private readonly deadLetters: DeadLetterWriter | undefined;
  /** A consume or settle hook is set: only then is the hooks' message object built per message. */
  private readonly hooked: boolean;
  private seriesTopic: string | undefined;
  private series: ConsumerSeries | undefined;

  constructor(
    private readonly ctx: KafkaWrapContext,
    private readonly consumer: Consumer,
    private readonly groupId: string | undefined,
  ) {
    this.instr = ctx.instr;
    this.deadLetters = ctx.deadLetter ? new DeadLetterWriter(ctx, groupId) : undefined;
    this.hooked = ctx.instr.hooks.consumeHook !== undefined || ctx.instr.hooks.settleHook !== undefined;
  }

  /** The consumer as the caller sees it: `run` and `disconnect` are ours, everything else kafkajs's. */
  proxy(): Consumer {
    const run = (config?: ConsumerRunConfig) => this.run(config);
    const disconnect = () => this.disconnect();
    return new Proxy(this.consumer, {
      get(target, prop, receiver) {
        if (prop === 'run') return run;
        if (prop === 'disconnect') return disconnect;
        return Reflect.get(target, prop, receiver);
      },
    });
  }

  private run(config?: ConsumerRunConfig): Promise<void> {
    const wrapped = this.instr.guard.run(
      'run',
      () => {
        if (!config) return config;
        const copy: ConsumerRunConfig = { ...config };
        if (typeof config.eachMessage === 'function')
          copy.eachMessage = this.wrapEachMessage(config.eachMessage);
        if (typeof config.eachBatch === 'function') copy.eachBatch = this.wrapEachBatch(config.eachBatch);
        return copy;
      },
      () => config,
    );
    return this.consumer.run(wrapped);
  }

  private async disconnect(): Promise<void> {
    try {
      await this.consumer.disconnect();
    } finally {
      if (this.deadLetters) {
        await this.deadLetters.close().catch((err: unknown) => {
          this.instr.guard.logger.warn('closing the dead-letter producer failed', err);
        });
      }
    }
  }

  // --- eachMessage

  private wrapEachMessage(handler: EachMessageHandler): EachMessageHandler {
    return (payload) => {
      // Per message: plain try/catch rather than guard closures.
      let attempt: number;
      let delivery: Delivery;
      try {
        attempt = this.attempts.attemptFor(payload.topic, payload.partition, payload.message.offset);
        delivery = this.startMessageDelivery(payload, attempt);
      } catch (err) {
        this.instr.guard.report('eachMessage', err);
        return handler(payload);
      }
      return runHandlerAwaited(
        this.instr.guard,
        delivery,
        () => handler(payload),
        new MessageFinished(this, payload, delivery, attempt),
      );
    };
  }

  /** The consumer metrics of `topic`, kept for the last topic seen: no lookup per message of one topic. */
  private seriesOf(topic: string): ConsumerSeries {
    if (this.seriesTopic !== topic || !this.series) {
      this.series = this.instr.metrics.consumer(this.instr.system, topic, this.groupId);
      this.seriesTopic = topic;
    }
    return this.series;
  }

  private startMessageDelivery(payload: EachMessagePayload, attempt: number): Delivery {
    const { topic, partition, message } = payload;
    return startDelivery(this.instr, {
      destination: topic,
      series: this.seriesOf(topic),
      consumerGroup: this.groupId,
      headers: message.headers,
      attempt,
      publishedAtFallback: recordTimestamp(message),
      deadLetter: deadLetterInfoOf(message.headers),
      attributes: () => consumerAttributes(partition, message),
      // Only hooks read it: without hooks, the payload stands in (a superset of the hook's shape).
      message: this.hooked ? { topic, partition, message } : payload,
      // The wrapper settles as soon as the handler finishes: no settle timer needed.
      settleTimeoutMs: false,
    });
  }

  acked(payload: EachMessagePayload, delivery: Delivery): void {
    this.attempts.done(payload.topic, payload.partition);
    delivery.settle('ack');
  }

  /**
   * A failed attempt: dead-lettered after the last one (true: the handler's promise then resolves, so
   * the offset commits), else recorded as `retry` (false: kafkajs gets the same error and retries).
   */
  async failedAttempt(
    payload: EachMessagePayload,
    delivery: Delivery,
    attempt: number,
    error: unknown,
  ): Promise<boolean> {
    const { topic, partition, message } = payload;
    const maxAttempts = this.ctx.deadLetter?.maxAttempts;
    if (this.deadLetters && maxAttempts !== undefined && attempt >= maxAttempts) {
      let written = false;
      try {
        await this.deadLetters.write(payload, error, attempt, delivery);
        written = true;
      } catch (writeError) {
        this.instr.guard.logger.error(
          `could not write the dead letter of ${topic}/${partition}@${message.offset}; kafkajs will retry it`,
          writeError,
        );
      }
      if (written) {
        this.attempts.done(topic, partition);
        settleDeadLettered(delivery, error);
        return true;
      }
    }
    this.attempts.failedAt(topic, partition, message.offset, attempt);
    delivery.settle('retry', { error });
    return false;
  }

  // --- eachBatch

  private wrapEachBatch(handler: EachBatchHandler): EachBatchHandler {
    return (payload: EachBatchPayload) => {
      const batch = this.instr.guard.run(
        'eachBatch',
        () => this.startBatch(payload),
        () => undefined,
      );
      if (!batch) return handler(payload);
      return runHandlerAwaited(this.instr.guard, batch, () => handler(payload), {
        succeeded: () => batch.settle('ack'),
        failed: (error) => {
          batch.settle('retry', { error });
          return false;
        },
      });
    };
  }

  /** The batch's delivery, with each message registered for `withMessageContext`. */
  private startBatch(payload: EachBatchPayload): BatchDelivery {
    const { batch } = payload;
    const delivery = startBatchDelivery(this.instr, {
      destination: batch.topic,
      consumerGroup: this.groupId,
      messages: batch.messages.map((m) => ({ headers: m.headers, publishedAtFallback: recordTimestamp(m) })),
      attributes: { [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(batch.partition) },
    });
    const { topic, partition, messages } = batch;
    const series = this.seriesOf(topic);
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index] as KafkaMessage;
      registerMessageScope(
        message,
        new BatchMessageScope(delivery, index, this.hooked, series, topic, partition, message),
      );
    }
    return delivery;
  }
}
