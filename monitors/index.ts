/**
 * The broker monitor layer: reads broker state (Kafka consumer lag, RabbitMQ queues, BullMQ queues) for the
 * collector and the CLI. `hoptrace/kafka` re-exports the Kafka lag monitor; the collector runs the
 * monitors with `MonitorRunner`. See ./types.ts for adding a monitor.
 */

export {
  BullMQMonitor,
  type BullMQMonitorSettings,
  bullmqReading,
  type QueueCounts,
} from './bullmq/broker-monitor.js';
export { MonitorError } from './errors.js';
export {
  type BrokerGauges,
  type MonitorHealthGauges,
  type MonitorMetrics,
  ReadingRecorder,
} from './gauges.js';
export { type KafkaLagSource, KafkaMonitor, lagReading } from './kafka/broker-monitor.js';
export {
  createKafkaLagMonitor,
  type GroupLag,
  KafkaLagMonitor,
  type KafkaLagMonitorOptions,
  type LagSecondsSource,
  type LagSnapshot,
  type PartitionLag,
} from './kafka/lag-monitor.js';
export { evaluatePartitionStatus } from './kafka/lag-status.js';
export { RabbitMqMonitor, type RabbitMqMonitorSettings } from './rabbitmq/broker-monitor.js';
export { MonitorRunner } from './runner.js';
export type { BrokerReading, GroupStatusReading, LagReading, Monitor, QueueReading } from './types.js';
