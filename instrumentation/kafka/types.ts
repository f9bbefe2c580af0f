/** Public option and hook types of `hoptrace/kafka`. Changing these breaks users. */
import type { KafkaMessage, Message, ProducerConfig } from 'kafkajs';
import type {
  ConsumeHook,
  ConsumeInfo,
  InstrumentationOptions,
  PublishHook,
  PublishInfo,
  SettleHook,
  SettleInfo,
} from '../transport/index.js';

/** What publish hooks receive as `info.message`: the caller's message (read-only) and its topic. */
export interface KafkaPublishMessage {
  topic: string;
  message: Readonly<Message>;
}

/**
 * What consume and settle hooks receive as `info.message`. For an `eachBatch` batch span hooks do not run;
 * each message run through `withMessageContext` does.
 */
export interface KafkaConsumeMessage {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

export type KafkaPublishInfo = PublishInfo<KafkaPublishMessage>;
export type KafkaConsumeInfo = ConsumeInfo<KafkaConsumeMessage>;
export type KafkaSettleInfo = SettleInfo<KafkaConsumeMessage>;
export type KafkaPublishHook = PublishHook<KafkaPublishMessage>;
export type KafkaConsumeHook = ConsumeHook<KafkaConsumeMessage>;
export type KafkaSettleHook = SettleHook<KafkaConsumeMessage>;

/**
 * Dead-lettering for `eachMessage` handlers, which Kafka lacks natively. After `maxAttempts` failed
 * attempts at one message, hoptrace produces it to the dead-letter topic (same key, value and headers,
 * plus `x-hoptrace-dead-letter-*` headers) and resolves the handler so the offset commits.
 */
export interface KafkaDeadLetterOptions {
  /** Attempts (first delivery included) before the message is dead-lettered; an integer >= 1. */
  maxAttempts: number;
  /** The dead-letter topic: a name, or a function of the source topic. Default `<topic>.dlq`. */
  topic?: string | ((sourceTopic: string) => string);
  /** Config of the producer hoptrace creates (lazily, once per consumer) to write dead letters. */
  producerConfig?: ProducerConfig;
}

export interface KafkaInstrumentationOptions
  extends InstrumentationOptions<KafkaPublishMessage, KafkaConsumeMessage> {
  /** Opt-in dead-lettering for `eachMessage` handlers; default off (a failing message is retried forever, as in kafkajs). */
  deadLetter?: KafkaDeadLetterOptions;
}
