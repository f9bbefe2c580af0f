/**
 * Consumer lag: how far behind each group is, in messages and in seconds, per partition, with the
 * collector's status verdict. Broker state comes from the recording rules, so the panels work the
 * same with the collector, kafka_exporter, kminion or rabbitmq_prometheus.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  RECORD_CONSUMERS,
  RECORD_LAG_MESSAGES,
  RECORD_LAG_MESSAGES_PARTITION,
  RECORD_LAG_SECONDS,
  RECORD_QUEUE_MESSAGES,
} from '../../alerts/src/names.js';
import {
  LABEL_CONSUMER_GROUP,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  LABEL_PARTITION,
  LABEL_QUEUE_STATE,
  LAG_STATUS,
  METRIC_CONSUMED_MESSAGES,
  METRIC_CONSUMER_LAG_STATUS,
  METRIC_KAFKA_GROUP_LOST_MESSAGES,
  METRIC_KAFKA_GROUP_MEMBERS,
  METRIC_KAFKA_GROUP_OFFSET,
  METRIC_KAFKA_GROUP_UNCOMMITTED,
  METRIC_KAFKA_PARTITION_OFFSET,
  METRIC_LAST_PROCESSED,
  METRIC_QUEUE_PAUSED,
  METRIC_STALLED_JOBS,
} from '../../instrumentation/core/semconv.js';
import { buildDashboard } from './dashboard.js';
import { barGaugePanel, stateTimelinePanel, timeseriesPanel, UNIT } from './panels.js';
import { CONSUMER_FILTER, DESTINATION_FILTER, RATE_INTERVAL } from './variables.js';

const CONSUMER = `${LABEL_MESSAGING_SYSTEM}, ${LABEL_DESTINATION}, ${LABEL_CONSUMER_GROUP}`;
const CONSUMER_LEGEND = `{{${LABEL_DESTINATION}}} {{${LABEL_CONSUMER_GROUP}}}`;

const STATUS_COLORS: Record<keyof typeof LAG_STATUS, string> = {
  OK: 'green',
  WARN: 'yellow',
  STALL: 'orange',
  STOP: 'red',
};

export function consumerLagDashboard(): Dashboard {
  return buildDashboard({
    uid: 'hoptrace-consumer-lag',
    title: 'hoptrace / Consumer lag',
    description:
      'Lag per consumer group and partition in messages and seconds, the groups furthest behind, and the status of each group.',
    sections: [
      {
        title: 'Who is behind',
        panels: [
          barGaugePanel({
            title: 'Top lagging groups (messages)',
            description: 'The ten groups with the most unprocessed messages right now.',
            unit: UNIT.messages,
            queries: [
              {
                expr: `topk(10, sum by (${CONSUMER}) (${RECORD_LAG_MESSAGES}{${CONSUMER_FILTER}}))`,
                legend: CONSUMER_LEGEND,
                instant: true,
              },
            ],
            steps: [
              { value: null, color: 'green' },
              { value: 100, color: 'orange' },
              { value: 10000, color: 'red' },
            ],
          }),
          barGaugePanel({
            title: 'Top lagging groups (seconds)',
            description: 'The ten groups whose oldest unprocessed message is oldest right now.',
            unit: UNIT.seconds,
            queries: [
              {
                expr: `topk(10, max by (${CONSUMER}) (${RECORD_LAG_SECONDS}{${CONSUMER_FILTER}}))`,
                legend: CONSUMER_LEGEND,
                instant: true,
              },
            ],
            steps: [
              { value: null, color: 'green' },
              { value: 60, color: 'orange' },
              { value: 300, color: 'red' },
            ],
          }),
          stateTimelinePanel({
            title: 'Lag status',
            description:
              "The collector's verdict per group over time: OK, WARN (lag rising while offsets move), STALL (offsets committed but not advancing), STOP (no commits).",
            unit: UNIT.state,
            width: 24,
            height: 6,
            queries: [
              {
                expr: `max by (${LABEL_CONSUMER_GROUP}) (${METRIC_CONSUMER_LAG_STATUS}{${LABEL_MESSAGING_SYSTEM}=~"$system", ${LABEL_CONSUMER_GROUP}=~"$group"})`,
                legend: `{{${LABEL_CONSUMER_GROUP}}}`,
              },
            ],
            states: (Object.keys(LAG_STATUS) as (keyof typeof LAG_STATUS)[]).map((name) => ({
              value: LAG_STATUS[name],
              text: name,
              color: STATUS_COLORS[name],
            })),
          }),
        ],
      },
      {
        title: 'Lag over time',
        panels: [
          timeseriesPanel({
            title: 'Lag (messages) per group',
            description:
              'Unprocessed messages per group: Kafka high watermark minus committed offset, RabbitMQ ready messages, SQS visible messages.',
            unit: UNIT.messages,
            min: 0,
            queries: [
              {
                expr: `sum by (${CONSUMER}) (${RECORD_LAG_MESSAGES}{${CONSUMER_FILTER}})`,
                legend: CONSUMER_LEGEND,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Lag (seconds) per group',
            description:
              'Age of the oldest unprocessed message per group. SQS: p99 message age at receive, or CloudWatch ApproximateAgeOfOldestMessage through YACE.',
            unit: UNIT.seconds,
            min: 0,
            queries: [
              {
                expr: `max by (${CONSUMER}) (${RECORD_LAG_SECONDS}{${CONSUMER_FILTER}})`,
                legend: CONSUMER_LEGEND,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Lag (messages) per partition',
            description:
              'One line per partition: a single high line is a hot partition (key skew), not a slow group.',
            unit: UNIT.messages,
            min: 0,
            queries: [
              {
                expr: `max by (${CONSUMER}, ${LABEL_PARTITION}) (${RECORD_LAG_MESSAGES_PARTITION}{${CONSUMER_FILTER}})`,
                legend: `${CONSUMER_LEGEND} #{{${LABEL_PARTITION}}}`,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Lag trend',
            description: 'Change of the lag per second: above zero the backlog grows, below zero it drains.',
            unit: UNIT.messagesPerSecond,
            queries: [
              {
                expr: `sum by (${CONSUMER}) (deriv(${RECORD_LAG_MESSAGES}{${CONSUMER_FILTER}}[${RATE_INTERVAL}]))`,
                legend: CONSUMER_LEGEND,
              },
            ],
          }),
        ],
      },
      {
        title: 'Consumers',
        panels: [
          timeseriesPanel({
            title: 'Consumers',
            description:
              'Consumers on each queue (RabbitMQ) or members of each group reading a topic (Kafka). SQS does not know its consumers.',
            unit: UNIT.count,
            min: 0,
            queries: [
              {
                expr: `max by (${CONSUMER}) (${RECORD_CONSUMERS}{${CONSUMER_FILTER}})`,
                legend: CONSUMER_LEGEND,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Time since last processed delivery',
            description:
              'Per consumer, from the wrappers. Rising steadily while there is lag means the consumer is stuck.',
            unit: UNIT.seconds,
            min: 0,
            queries: [
              {
                expr: `time() - max by (${CONSUMER}) (${METRIC_LAST_PROCESSED}{${CONSUMER_FILTER}})`,
                legend: CONSUMER_LEGEND,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Consumed rate',
            description: 'Deliveries processed per second per group: compare with the lag trend.',
            unit: UNIT.messagesPerSecond,
            queries: [
              {
                expr: `sum by (${CONSUMER}) (rate(${METRIC_CONSUMED_MESSAGES}{${CONSUMER_FILTER}}[${RATE_INTERVAL}]))`,
                legend: CONSUMER_LEGEND,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Queue depth',
            description:
              'RabbitMQ, SQS, BullMQ and bus queues: ready and unacknowledged messages (SQS: visible, in flight, and delayed; BullMQ: waiting, prioritized, active, delayed, waiting_children, completed; its failed set is `<queue>:failed`).',
            unit: UNIT.messages,
            min: 0,
            stacked: true,
            queries: [
              {
                expr: `max by (${LABEL_MESSAGING_SYSTEM}, ${LABEL_DESTINATION}, ${LABEL_QUEUE_STATE}) (${RECORD_QUEUE_MESSAGES}{${DESTINATION_FILTER}})`,
                legend: `{{${LABEL_DESTINATION}}} {{${LABEL_QUEUE_STATE}}}`,
              },
            ],
          }),
        ],
      },
      {
        title: 'Kafka groups and offsets',
        panels: [
          timeseriesPanel({
            title: 'Kafka group members',
            description:
              'Active members per consumer group (DescribeGroups). A group with lag and 0 members fires BacklogWithoutConsumers.',
            unit: UNIT.messages,
            min: 0,
            queries: [
              {
                expr: `max by (${LABEL_CONSUMER_GROUP}) (${METRIC_KAFKA_GROUP_MEMBERS}{${LABEL_MESSAGING_SYSTEM}=~"$system", ${LABEL_CONSUMER_GROUP}=~"$group"})`,
                legend: `{{${LABEL_CONSUMER_GROUP}}}`,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Kafka produced vs committed (messages/s)',
            description:
              "Per topic: how fast the high watermark grows (produced) and how fast each group's committed offset grows (consumed).",
            unit: UNIT.messages,
            min: 0,
            queries: [
              {
                expr: `sum by (${LABEL_DESTINATION}) (rate(${METRIC_KAFKA_PARTITION_OFFSET}{${DESTINATION_FILTER}}[${RATE_INTERVAL}]))`,
                legend: `produced {{${LABEL_DESTINATION}}}`,
              },
              {
                expr: `sum by (${CONSUMER}) (rate(${METRIC_KAFKA_GROUP_OFFSET}{${CONSUMER_FILTER}}[${RATE_INTERVAL}]))`,
                legend: `committed ${CONSUMER_LEGEND}`,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Kafka messages lost to retention',
            description:
              'Records deleted before the group read them (committed offset below the log start offset); see docs/kafka.md.',
            unit: UNIT.messages,
            min: 0,
            queries: [
              {
                expr: `sum by (${CONSUMER}) (${METRIC_KAFKA_GROUP_LOST_MESSAGES}{${CONSUMER_FILTER}})`,
                legend: CONSUMER_LEGEND,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Kafka partitions never committed',
            description:
              'Partitions of a topic the group reads (commits or assignments) that it never committed.',
            unit: UNIT.messages,
            min: 0,
            queries: [
              {
                expr: `max by (${CONSUMER}) (${METRIC_KAFKA_GROUP_UNCOMMITTED}{${CONSUMER_FILTER}})`,
                legend: CONSUMER_LEGEND,
              },
            ],
          }),
        ],
      },
      {
        title: 'BullMQ',
        panels: [
          timeseriesPanel({
            title: 'BullMQ stalled jobs',
            description:
              "Jobs a worker's stalled-job check moved back or failed (their worker died or blocked its event loop), per queue.",
            unit: UNIT.messages,
            min: 0,
            queries: [
              {
                expr: `sum by (${LABEL_MESSAGING_SYSTEM}, ${LABEL_DESTINATION}) (increase(${METRIC_STALLED_JOBS}{${DESTINATION_FILTER}}[${RATE_INTERVAL}]))`,
                legend: `{{${LABEL_DESTINATION}}}`,
              },
            ],
          }),
          timeseriesPanel({
            title: 'BullMQ paused queues',
            description: '1 while a queue is paused (queue.pause()); its waiting jobs are not taken.',
            unit: UNIT.messages,
            min: 0,
            queries: [
              {
                expr: `max by (${LABEL_MESSAGING_SYSTEM}, ${LABEL_DESTINATION}) (${METRIC_QUEUE_PAUSED}{${DESTINATION_FILTER}})`,
                legend: `{{${LABEL_DESTINATION}}}`,
              },
            ],
          }),
        ],
      },
    ],
  });
}
