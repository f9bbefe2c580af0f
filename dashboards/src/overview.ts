/** Overview: throughput, errors, in-flight work and latency of every instrumented producer and consumer. */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  LABEL_CONSUMER_GROUP,
  LABEL_DESTINATION,
  LABEL_ERROR_TYPE,
  LABEL_MESSAGING_SYSTEM,
  LABEL_OPERATION_NAME,
  LABEL_OUTCOME,
  METRIC_CONSUMED_MESSAGES,
  METRIC_DEAD_LETTERED,
  METRIC_FLOW_AGE,
  METRIC_IN_FLIGHT,
  METRIC_MESSAGE_AGE,
  METRIC_OPERATION_DURATION,
  METRIC_PROCESS_DURATION,
  METRIC_SENT_MESSAGES,
} from '../../instrumentation/core/semconv.js';
import { buildDashboard } from './dashboard.js';
import { type QuerySpec, statPanel, timeseriesPanel, UNIT } from './panels.js';
import { CONSUMER_FILTER, DESTINATION_FILTER, RATE_INTERVAL } from './variables.js';

const CONSUMER = `${LABEL_MESSAGING_SYSTEM}, ${LABEL_DESTINATION}, ${LABEL_CONSUMER_GROUP}`;
const CONSUMER_LEGEND = `{{${LABEL_DESTINATION}}} {{${LABEL_CONSUMER_GROUP}}}`;

const rate = (metric: string, filter: string) => `rate(${metric}{${filter}}[${RATE_INTERVAL}])`;

/** p50, p95 and p99 of a histogram over the selected series, with exemplars that open the trace. */
export function quantileQueries(histogram: string, filter: string): QuerySpec[] {
  return [0.5, 0.95, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le) (${rate(`${histogram}_bucket`, filter)}))`,
    legend: `p${Math.round(q * 100)}`,
    exemplar: true,
  }));
}

const errorRatio = (by: string) =>
  `sum by (${by}) (${rate(METRIC_CONSUMED_MESSAGES, `${CONSUMER_FILTER}, ${LABEL_ERROR_TYPE}!=""`)})\n/\n` +
  `sum by (${by}) (${rate(METRIC_CONSUMED_MESSAGES, CONSUMER_FILTER)})`;

export function overviewDashboard(): Dashboard {
  return buildDashboard({
    uid: 'hoptrace-overview',
    title: 'hoptrace / Overview',
    description:
      'Messages sent and consumed, handler errors, in-flight work, processing time and message age.',
    sections: [
      {
        title: 'At a glance',
        panels: [
          statPanel({
            title: 'Sent',
            description: 'Messages handed to the broker per second.',
            unit: UNIT.messagesPerSecond,
            queries: [{ expr: `sum(${rate(METRIC_SENT_MESSAGES, DESTINATION_FILTER)})`, legend: 'sent' }],
          }),
          statPanel({
            title: 'Consumed',
            description: 'Deliveries processed per second, whatever their outcome.',
            unit: UNIT.messagesPerSecond,
            queries: [
              { expr: `sum(${rate(METRIC_CONSUMED_MESSAGES, CONSUMER_FILTER)})`, legend: 'consumed' },
            ],
          }),
          statPanel({
            title: 'Failed deliveries',
            description: 'Share of deliveries whose handler failed (error_type set), per system.',
            unit: UNIT.ratio,
            queries: [{ expr: errorRatio(LABEL_MESSAGING_SYSTEM), legend: '{{messaging_system}}' }],
            steps: [
              { value: null, color: 'green' },
              { value: 0.01, color: 'orange' },
              { value: 0.05, color: 'red' },
            ],
          }),
          statPanel({
            title: 'Dead-lettered',
            description: 'Messages dead-lettered per second by the wrappers.',
            unit: UNIT.messagesPerSecond,
            queries: [
              { expr: `sum(${rate(METRIC_DEAD_LETTERED, CONSUMER_FILTER)})`, legend: 'dead-lettered' },
            ],
            steps: [
              { value: null, color: 'green' },
              { value: 0.0001, color: 'red' },
            ],
          }),
        ],
      },
      {
        title: 'Throughput',
        panels: [
          timeseriesPanel({
            title: 'Sent vs consumed',
            description:
              'Producers (sent, per destination) against consumers (consumed, per destination and group). ' +
              'Consumed staying below sent means a backlog builds up.',
            unit: UNIT.messagesPerSecond,
            queries: [
              {
                expr: `sum by (${LABEL_MESSAGING_SYSTEM}, ${LABEL_DESTINATION}) (${rate(METRIC_SENT_MESSAGES, DESTINATION_FILTER)})`,
                legend: `sent {{${LABEL_DESTINATION}}}`,
              },
              {
                expr: `sum by (${CONSUMER}) (${rate(METRIC_CONSUMED_MESSAGES, CONSUMER_FILTER)})`,
                legend: `consumed ${CONSUMER_LEGEND}`,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Outcomes',
            description:
              'What happened to each delivery: ack, nack, requeue, reject, dead_letter, error, retry.',
            unit: UNIT.messagesPerSecond,
            stacked: true,
            queries: [
              {
                expr: `sum by (${LABEL_OUTCOME}) (${rate(METRIC_CONSUMED_MESSAGES, CONSUMER_FILTER)})`,
                legend: `{{${LABEL_OUTCOME}}}`,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Error ratio',
            description: 'Share of deliveries whose handler failed, per destination and group.',
            unit: UNIT.ratio,
            min: 0,
            queries: [{ expr: errorRatio(CONSUMER), legend: CONSUMER_LEGEND }],
          }),
          timeseriesPanel({
            title: 'In flight',
            description:
              'Deliveries started and not settled yet. A line that only goes up is a handler that never returns.',
            unit: UNIT.messages,
            min: 0,
            queries: [
              {
                expr: `sum by (${CONSUMER}) (${METRIC_IN_FLIGHT}{${CONSUMER_FILTER}})`,
                legend: CONSUMER_LEGEND,
              },
            ],
          }),
        ],
      },
      {
        title: 'Latency (click an exemplar to open its trace)',
        panels: [
          timeseriesPanel({
            title: 'Process duration',
            description:
              'How long handlers take, p50/p95/p99. Exemplar dots link to the trace of one delivery.',
            unit: UNIT.seconds,
            queries: quantileQueries(METRIC_PROCESS_DURATION, CONSUMER_FILTER),
          }),
          timeseriesPanel({
            title: 'Message age at processing start',
            description:
              'Time from publish to the start of processing, p50/p95/p99: the time spent in the broker.',
            unit: UNIT.seconds,
            queries: quantileQueries(METRIC_MESSAGE_AGE, CONSUMER_FILTER),
          }),
          timeseriesPanel({
            title: 'Flow age at processing start',
            description: "Time from the flow's first publish to the start of this step, p95 per destination.",
            unit: UNIT.seconds,
            queries: [
              {
                expr: `histogram_quantile(0.95, sum by (le, ${LABEL_DESTINATION}) (${rate(`${METRIC_FLOW_AGE}_bucket`, CONSUMER_FILTER)}))`,
                legend: `p95 {{${LABEL_DESTINATION}}}`,
                exemplar: true,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Client operation duration',
            description: 'Publish, confirm and settle calls, p95 per operation.',
            unit: UNIT.seconds,
            queries: [
              {
                expr: `histogram_quantile(0.95, sum by (le, ${LABEL_OPERATION_NAME}) (${rate(`${METRIC_OPERATION_DURATION}_bucket`, DESTINATION_FILTER)}))`,
                legend: `p95 {{${LABEL_OPERATION_NAME}}}`,
              },
            ],
          }),
        ],
      },
    ],
  });
}
