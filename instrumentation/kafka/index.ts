/**
 * `hoptrace/kafka`: tracing, metrics and dead-lettering for kafkajs, and the consumer-lag monitor.
 *
 * ```ts
 * const kafka = instrumentKafka(new Kafka({ clientId, brokers }), { deadLetter: { maxAttempts: 3 } });
 * ```
 */

export {
  createKafkaLagMonitor,
  evaluatePartitionStatus,
  type GroupLag,
  type KafkaLagMonitor,
  type KafkaLagMonitorOptions,
  type LagSecondsSource,
  type LagSnapshot,
  type PartitionLag,
} from '../../monitors/kafka/lag-monitor.js';
export type { LagStatus } from '../core/semconv.js';
export { KafkajsInstrumentation, type KafkajsInstrumentationConfig } from './auto.js';
export { instrumentKafka } from './instrument.js';
export { registerLagMetrics } from './lag-metrics.js';
export { withMessageContext } from './message-context.js';
export type {
  KafkaConsumeHook,
  KafkaConsumeInfo,
  KafkaConsumeMessage,
  KafkaDeadLetterOptions,
  KafkaInstrumentationOptions,
  KafkaPublishHook,
  KafkaPublishInfo,
  KafkaPublishMessage,
  KafkaSettleHook,
  KafkaSettleInfo,
} from './types.js';
