/** The collector itself: without it the broker-state alerts go silent, so its absence alerts. */
import { LABEL_COLLECTOR_SOURCE, METRIC_COLLECTOR_LAST_SUCCESS } from '../../instrumentation/core/semconv.js';
import { by, num, quote, selector } from './promql.js';
import { labelRef } from './templates.js';
import type { AlertingRule, RuleContext, RuleGroup } from './types.js';

/** `source` values of the collector's broker monitors (monitors/: RabbitMQ, Kafka, BullMQ). */
export const BROKER_SOURCES = ['rabbitmq', 'kafka', 'bullmq'] as const;

export function collectorAlerts(ctx: RuleContext): RuleGroup<AlertingRule> {
  const { config } = ctx;
  const collector = config.selectors.collector;
  return {
    name: 'hoptrace.alerts.collector',
    rules: [
      {
        alert: 'CollectorDown',
        // absent() of the healthy targets: fires when every collector is down and when none is scraped.
        expr: `absent(${selector('up', collector)} == 1)`,
        for: ctx.forDuration(config.for.collectorDown),
        labels: { severity: 'warning' },
        annotations: {
          summary: 'No hoptrace collector is up.',
          description: `Prometheus has no healthy target matching {${collector}}: lag, dead-letter queue and flow alerts that depend on the collector cannot fire.`,
        },
      },
      {
        alert: 'StaleBrokerData',
        // Only the broker monitors: `otlp`, `forward` and `scaleout` also report a last success, but a
        // quiet span stream is not stale broker data.
        expr: `time() - max ${by([LABEL_COLLECTOR_SOURCE])} (${selector(METRIC_COLLECTOR_LAST_SUCCESS, collector, `${LABEL_COLLECTOR_SOURCE}=~${quote(BROKER_SOURCES.join('|'))}`)}) > ${num(config.thresholds.staleBrokerDataSeconds)}`,
        for: ctx.forDuration(config.for.staleBrokerData),
        labels: { severity: 'warning' },
        annotations: {
          summary: 'The collector cannot read broker state; lag and queue data are stale.',
          description: `The collector last read ${labelRef(LABEL_COLLECTOR_SOURCE)} successfully {{ $value | humanizeDuration }} ago.`,
        },
      },
    ],
  };
}
