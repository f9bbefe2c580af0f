/**
 * Dead letters: what the consumers dead-letter (the wrappers' counter) and what sits in the
 * dead-letter queues (broker state from the recording rules), with redeliveries leading up to it.
 * The destination variable picks the source destination; DLQs are matched by `dead_letter_source`.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DLQ_KEY, RECORD_DLQ_MESSAGES, RECORD_OLDEST_AGE } from '../../alerts/src/names.js';
import {
  LABEL_CONSUMER_GROUP,
  LABEL_DEAD_LETTER_SOURCE,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  LABEL_REASON,
  METRIC_CONSUMED_MESSAGES,
  METRIC_DEAD_LETTER_HOPS,
  METRIC_DEAD_LETTERED,
  METRIC_REDELIVERIES,
} from '../../instrumentation/core/semconv.js';
import { buildDashboard } from './dashboard.js';
import { statPanel, timeseriesPanel, UNIT } from './panels.js';
import { CONSUMER_FILTER, RATE_INTERVAL } from './variables.js';

const CONSUMER = `${LABEL_MESSAGING_SYSTEM}, ${LABEL_DESTINATION}, ${LABEL_CONSUMER_GROUP}`;
const CONSUMER_LEGEND = `{{${LABEL_DESTINATION}}} {{${LABEL_CONSUMER_GROUP}}}`;
const DLQ_FILTER = `${LABEL_MESSAGING_SYSTEM}=~"$system", ${LABEL_DEAD_LETTER_SOURCE}=~"$destination"`;
const DLQ = DLQ_KEY.join(', ');
const DLQ_LEGEND = `{{${LABEL_DESTINATION}}} (from {{${LABEL_DEAD_LETTER_SOURCE}}})`;

const rate = (metric: string) => `rate(${metric}{${CONSUMER_FILTER}}[${RATE_INTERVAL}])`;

export function deadLettersDashboard(): Dashboard {
  return buildDashboard({
    uid: 'hoptrace-dead-letters',
    title: 'hoptrace / Dead letters',
    description:
      'Dead-letter queue depth and growth, dead letters by reason, the oldest dead letter, redeliveries.',
    sections: [
      {
        title: 'Dead-letter queues',
        panels: [
          statPanel({
            title: 'Messages in dead-letter queues',
            description: 'All dead-letter queues of the selected source destinations, right now.',
            unit: UNIT.messages,
            queries: [{ expr: `sum(${RECORD_DLQ_MESSAGES}{${DLQ_FILTER}})`, legend: 'dead letters' }],
            steps: [
              { value: null, color: 'green' },
              { value: 1, color: 'orange' },
              { value: 1000, color: 'red' },
            ],
          }),
          statPanel({
            title: 'Oldest dead letter',
            description:
              'Age of the oldest message in any selected dead-letter queue (needs message timestamps).',
            unit: UNIT.seconds,
            queries: [
              {
                expr: `max(${RECORD_OLDEST_AGE} and on (${LABEL_MESSAGING_SYSTEM}, ${LABEL_DESTINATION}) ${RECORD_DLQ_MESSAGES}{${DLQ_FILTER}})`,
                legend: 'oldest',
              },
            ],
            steps: [
              { value: null, color: 'green' },
              { value: 3600, color: 'orange' },
              { value: 86400, color: 'red' },
            ],
          }),
          statPanel({
            title: 'Dead-lettered share',
            description: 'Dead letters as a share of all deliveries of the selected consumers.',
            unit: UNIT.ratio,
            queries: [
              {
                expr: `sum(${rate(METRIC_DEAD_LETTERED)})\n/\nsum(${rate(METRIC_CONSUMED_MESSAGES)})`,
                legend: 'share',
              },
            ],
            steps: [
              { value: null, color: 'green' },
              { value: 0.001, color: 'orange' },
              { value: 0.01, color: 'red' },
            ],
          }),
          statPanel({
            title: 'Redeliveries',
            description: 'Deliveries of messages that were delivered before, per second.',
            unit: UNIT.messagesPerSecond,
            queries: [{ expr: `sum(${rate(METRIC_REDELIVERIES)})`, legend: 'redeliveries' }],
          }),
          timeseriesPanel({
            title: 'Dead-letter queue depth',
            description: 'Messages in each dead-letter queue.',
            unit: UNIT.messages,
            min: 0,
            queries: [
              { expr: `max by (${DLQ}) (${RECORD_DLQ_MESSAGES}{${DLQ_FILTER}})`, legend: DLQ_LEGEND },
            ],
          }),
          timeseriesPanel({
            title: 'Dead-letter queue growth',
            description:
              'Change of each dead-letter queue per second: above zero it fills, below zero it is being drained.',
            unit: UNIT.messagesPerSecond,
            queries: [
              {
                expr: `sum by (${DLQ}) (deriv(${RECORD_DLQ_MESSAGES}{${DLQ_FILTER}}[${RATE_INTERVAL}]))`,
                legend: DLQ_LEGEND,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Oldest message per dead-letter queue',
            description: 'How long the oldest dead letter has waited in each queue.',
            unit: UNIT.seconds,
            min: 0,
            queries: [
              {
                expr: `max by (${LABEL_MESSAGING_SYSTEM}, ${LABEL_DESTINATION}) (${RECORD_OLDEST_AGE} and on (${LABEL_MESSAGING_SYSTEM}, ${LABEL_DESTINATION}) ${RECORD_DLQ_MESSAGES}{${DLQ_FILTER}})`,
                legend: `{{${LABEL_DESTINATION}}}`,
              },
            ],
          }),
        ],
      },
      {
        title: 'Dead-lettering',
        panels: [
          timeseriesPanel({
            title: 'Dead letters by reason',
            description:
              "rejected, expired, maxlen, delivery_limit, max_attempts or error. Wrappers: Kafka and the bus count at the consumer that gave up, RabbitMQ and SQS at the dead-letter queue's consumer (none without one). Collector: every dead-lettering consumer span, per source destination and group.",
            unit: UNIT.messagesPerSecond,
            queries: [
              {
                expr: `sum by (${CONSUMER}, ${LABEL_REASON}) (${rate(METRIC_DEAD_LETTERED)})`,
                legend: `{{${LABEL_REASON}}} ${CONSUMER_LEGEND}`,
              },
              {
                expr: `sum by (${CONSUMER}, ${LABEL_REASON}) (${rate(METRIC_DEAD_LETTER_HOPS)})`,
                legend: `collector: {{${LABEL_REASON}}} ${CONSUMER_LEGEND}`,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Redeliveries per consumer',
            description:
              'Messages delivered again (requeued, retried, or after a consumer crash) per second.',
            unit: UNIT.messagesPerSecond,
            queries: [
              { expr: `sum by (${CONSUMER}) (${rate(METRIC_REDELIVERIES)})`, legend: CONSUMER_LEGEND },
            ],
          }),
        ],
      },
    ],
  });
}
