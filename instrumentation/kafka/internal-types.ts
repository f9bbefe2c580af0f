/** Types shared by the wrapper's modules; never exported from `hoptrace/kafka`. */
import type { Kafka } from 'kafkajs';
import type { Instrumentation } from '../transport/index.js';
import type { KafkaConsumeMessage, KafkaDeadLetterOptions, KafkaPublishMessage } from './types.js';

export type KafkaInstr = Instrumentation<KafkaPublishMessage, KafkaConsumeMessage>;

/** Everything the producer and consumer wrappers need, resolved once by `instrumentKafka`. */
export interface KafkaWrapContext {
  instr: KafkaInstr;
  /** The caller's own (unwrapped) Kafka client: the dead-letter producer comes from it. */
  kafka: Kafka;
  /** Validated dead-letter options; undefined when off. */
  deadLetter: Readonly<KafkaDeadLetterOptions> | undefined;
}
