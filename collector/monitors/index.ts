/**
 * The collector's broker monitors, made from its options. The monitors themselves live in the
 * monitor layer (../../monitors, shared with the CLI); the collector runs them with `MonitorRunner`,
 * which writes their readings into the collector's gauges. A new monitor is one more line here.
 */

import { BullMQMonitor } from '../../monitors/bullmq/broker-monitor.js';
import { KafkaMonitor } from '../../monitors/kafka/broker-monitor.js';
import { createKafkaLagMonitor } from '../../monitors/kafka/lag-monitor.js';
import { PubSubMonitor } from '../../monitors/pubsub/broker-monitor.js';
import { RabbitMqMonitor } from '../../monitors/rabbitmq/broker-monitor.js';
import { SqsMonitor } from '../../monitors/sqs/broker-monitor.js';
import type { Monitor } from '../../monitors/types.js';
import type { ResolvedConfig } from '../config.js';

export function createMonitors(config: ResolvedConfig): Monitor[] {
  const monitors: Monitor[] = [];
  if (config.rabbitmq) monitors.push(new RabbitMqMonitor(config.rabbitmq));
  if (config.bullmq) monitors.push(new BullMQMonitor(config.bullmq));
  if (config.sqs) monitors.push(new SqsMonitor(config.sqs));
  if (config.pubsub) monitors.push(new PubSubMonitor(config.pubsub));
  if (config.kafka) {
    const { intervalMs } = config.kafka;
    // The same lag monitor `hoptrace lag` uses; kafkajs loads on first poll.
    const lag = createKafkaLagMonitor({ ...config.kafka });
    monitors.push(new KafkaMonitor(lag, intervalMs));
  }
  return monitors;
}
