/**
 * Flows: what the collector learns by linking producer and consumer spans (hop latency per pathway,
 * fan-out, unconsumed, orphan and duplicate deliveries) and the collector's own health.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  LABEL_COLLECTOR_SOURCE,
  LABEL_CONSUMER_SERVICE,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  LABEL_PRODUCER_SERVICE,
  LABEL_REASON,
  METRIC_COLLECTOR_LAST_SUCCESS,
  METRIC_COLLECTOR_SPANS_DROPPED,
  METRIC_COLLECTOR_SPANS_RECEIVED,
  METRIC_COLLECTOR_UP,
  METRIC_DUPLICATE_DELIVERIES,
  METRIC_FANOUT_DELIVERIES,
  METRIC_HOP_LATENCY,
  METRIC_ORPHAN_DELIVERIES,
  METRIC_UNCONSUMED,
} from '../../instrumentation/core/semconv.js';
import { buildDashboard } from './dashboard.js';
import { quantileQueries } from './overview.js';
import { statPanel, timeseriesPanel, UNIT } from './panels.js';
import { CONSUMER_FILTER, DESTINATION_FILTER, RATE_INTERVAL } from './variables.js';

const DESTINATION = `${LABEL_MESSAGING_SYSTEM}, ${LABEL_DESTINATION}`;
const rate = (metric: string, filter = DESTINATION_FILTER) => `rate(${metric}{${filter}}[${RATE_INTERVAL}])`;

/** Per destination; consumer-side series (orphans, duplicates) also honour the group variable. */
const perDestination = (metric: string, filter = DESTINATION_FILTER) => ({
  expr: `sum by (${DESTINATION}) (${rate(metric, filter)})`,
  legend: `{{${LABEL_DESTINATION}}}`,
});

export function flowsDashboard(): Dashboard {
  return buildDashboard({
    uid: 'hoptrace-flows',
    title: 'hoptrace / Flows',
    description:
      'Hop latency per producer -> consumer pathway, fan-out, unconsumed, orphan and duplicate deliveries, collector health.',
    sections: [
      {
        title: 'Pathways (click an exemplar to open its trace)',
        panels: [
          timeseriesPanel({
            title: 'Hop latency p95 per pathway',
            description:
              'Publish to start of processing, for each producer service -> consumer service pair.',
            unit: UNIT.seconds,
            width: 16,
            queries: [
              {
                expr: `histogram_quantile(0.95, sum by (le, ${LABEL_PRODUCER_SERVICE}, ${LABEL_CONSUMER_SERVICE}) (${rate(`${METRIC_HOP_LATENCY}_bucket`, CONSUMER_FILTER)}))`,
                legend: `{{${LABEL_PRODUCER_SERVICE}}} -> {{${LABEL_CONSUMER_SERVICE}}}`,
                exemplar: true,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Hop latency, all pathways',
            description: 'p50/p95/p99 over every selected pathway.',
            unit: UNIT.seconds,
            width: 8,
            queries: quantileQueries(METRIC_HOP_LATENCY, CONSUMER_FILTER),
          }),
          timeseriesPanel({
            title: 'Fan-out',
            description:
              'Deliveries per published message: 1 for a queue, one per subscribed group for a topic.',
            unit: UNIT.count,
            min: 0,
            queries: [
              {
                expr: `sum(${rate(`${METRIC_FANOUT_DELIVERIES}_sum`)})\n/\nsum(${rate(`${METRIC_FANOUT_DELIVERIES}_count`)})`,
                legend: 'mean',
              },
              {
                expr: `histogram_quantile(0.99, sum by (le) (${rate(`${METRIC_FANOUT_DELIVERIES}_bucket`)}))`,
                legend: 'p99',
              },
            ],
          }),
          timeseriesPanel({
            title: 'Publishes per second (by fan-out)',
            description: 'Published messages the collector followed, per destination.',
            unit: UNIT.messagesPerSecond,
            queries: [perDestination(`${METRIC_FANOUT_DELIVERIES}_count`)],
          }),
        ],
      },
      {
        title: 'Lost, orphaned and duplicated',
        panels: [
          timeseriesPanel({
            title: 'Unconsumed messages',
            description:
              'Published, but no delivery before the collector deadline: misrouted, unbound or unobserved.',
            unit: UNIT.messagesPerSecond,
            width: 8,
            queries: [perDestination(METRIC_UNCONSUMED)],
          }),
          timeseriesPanel({
            title: 'Orphan deliveries',
            description: 'Delivered, but the collector never saw the publish: an uninstrumented producer.',
            unit: UNIT.messagesPerSecond,
            width: 8,
            queries: [perDestination(METRIC_ORPHAN_DELIVERIES, CONSUMER_FILTER)],
          }),
          timeseriesPanel({
            title: 'Duplicate deliveries',
            description: 'The same message delivered again to the same consumer group.',
            unit: UNIT.messagesPerSecond,
            width: 8,
            queries: [perDestination(METRIC_DUPLICATE_DELIVERIES, CONSUMER_FILTER)],
          }),
        ],
      },
      {
        title: 'Collector health',
        panels: [
          statPanel({
            title: 'Collector sources up',
            description:
              'Per source, 1 when every collector reports it working: the collector itself, each broker monitor (rabbitmq, kafka, sqs), the forwarder and the scale-out topic. 0 when one fails.',
            unit: UNIT.count,
            queries: [
              {
                expr: `min by (${LABEL_COLLECTOR_SOURCE}) (${METRIC_COLLECTOR_UP})`,
                legend: `{{${LABEL_COLLECTOR_SOURCE}}}`,
              },
            ],
            steps: [
              { value: null, color: 'red' },
              { value: 1, color: 'green' },
            ],
          }),
          timeseriesPanel({
            title: 'Broker data age',
            description:
              'Seconds since the collector last read each broker (rabbitmq, kafka, sqs), received spans (otlp), forwarded or read the scale-out topic. Only the brokers alert (StaleBrokerData): a quiet span stream is normal.',
            unit: UNIT.seconds,
            width: 9,
            queries: [
              {
                expr: `time() - max by (${LABEL_COLLECTOR_SOURCE}) (${METRIC_COLLECTOR_LAST_SUCCESS})`,
                legend: `{{${LABEL_COLLECTOR_SOURCE}}}`,
              },
            ],
          }),
          timeseriesPanel({
            title: 'Spans received and dropped',
            description:
              'OTLP spans the collector accepted, and the ones it dropped by reason (overload, invalid).',
            unit: UNIT.spansPerSecond,
            width: 9,
            queries: [
              {
                expr: `sum(rate(${METRIC_COLLECTOR_SPANS_RECEIVED}[${RATE_INTERVAL}]))`,
                legend: 'received',
              },
              {
                expr: `sum by (${LABEL_REASON}) (rate(${METRIC_COLLECTOR_SPANS_DROPPED}[${RATE_INTERVAL}]))`,
                legend: `dropped {{${LABEL_REASON}}}`,
              },
            ],
          }),
        ],
      },
    ],
  });
}
