/** Consumers falling behind, stalled or missing, from the broker-state records (any source). */
import {
  LABEL_CONSUMER_GROUP,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  LAG_STATUS,
  METRIC_CONSUMER_LAG_STATUS,
  METRIC_LAST_PROCESSED,
} from '../../instrumentation/core/semconv.js';
import {
  CONSUMER_KEY,
  DESTINATION_KEY,
  RECORD_CONSUMERS,
  RECORD_DLQ_MESSAGES,
  RECORD_LAG_MESSAGES,
  RECORD_LAG_SECONDS,
} from './names.js';
import { by, num, on, quote, selector } from './promql.js';
import { CONSUMER_REF, labelRef } from './templates.js';
import type { AlertingRule, RuleContext, RuleGroup } from './types.js';

/** Which evidence a ConsumerStalled alert rests on (two rules, one alert name). */
export const LABEL_STALL_SIGNAL = 'stall_signal';

/**
 * A broker-state record minus destinations that are expected to hold messages: dead-letter queues
 * (their own alerts cover them) and delay/retry queues without consumers by design.
 */
function consumedDestinations(ctx: RuleContext, record: string, condition: string): string {
  const kept = selector(record, `${LABEL_DESTINATION}!~${quote(ctx.config.consumerlessDestinationPattern)}`);
  return `(${kept} ${condition})\nunless ${on(DESTINATION_KEY)}\n${RECORD_DLQ_MESSAGES}`;
}

export function consumerLagAlerts(ctx: RuleContext): RuleGroup<AlertingRule> {
  const { config } = ctx;
  const { thresholds } = config;
  const stalledAfter = num(thresholds.consumerStalledAfterSeconds);
  return {
    name: 'hoptrace.alerts.consumer-lag',
    rules: [
      {
        alert: 'ConsumerLagHigh',
        expr: consumedDestinations(ctx, RECORD_LAG_SECONDS, `> ${num(thresholds.consumerLagSeconds)}`),
        for: ctx.forDuration(config.for.consumerLagHigh),
        labels: { severity: 'warning' },
        annotations: {
          summary: 'Consumers are far behind: the oldest unprocessed message is old.',
          description: `${CONSUMER_REF}: the oldest unprocessed message is {{ $value | humanizeDuration }} old.`,
        },
      },
      {
        alert: 'ConsumerLagGrowing',
        // Lag that is high but falling has deriv < 0 and does not fire.
        expr:
          `deriv(${RECORD_LAG_MESSAGES}[${ctx.window(config.windows.consumerLagTrend)}]) * 60 > 0\nand ` +
          consumedDestinations(
            ctx,
            RECORD_LAG_MESSAGES,
            `> ${num(thresholds.consumerLagGrowingMinMessages)}`,
          ),
        for: ctx.forDuration(config.for.consumerLagGrowing),
        labels: { severity: 'warning' },
        annotations: {
          summary: 'Consumer lag keeps growing: messages arrive faster than they are processed.',
          description: `${CONSUMER_REF}: the lag grows by {{ $value | humanize }} messages per minute.`,
        },
      },
      {
        alert: 'ConsumerStalled',
        // The lag monitor's verdict on the group's committed offsets (Burrow-style status), from the
        // collector or from a service that runs the monitor itself.
        expr: `max ${by([LABEL_MESSAGING_SYSTEM, LABEL_CONSUMER_GROUP])} (${selector(METRIC_CONSUMER_LAG_STATUS, config.selectors.collector)} or ${selector(METRIC_CONSUMER_LAG_STATUS, config.selectors.services)}) >= ${thresholds.consumerLagStatusStalled}`,
        for: ctx.forDuration(config.for.consumerStalled),
        labels: { severity: 'critical', [LABEL_STALL_SIGNAL]: 'committed_offsets' },
        annotations: {
          summary: 'A consumer group has lag but makes no progress.',
          description: `Consumer group "${labelRef(LABEL_CONSUMER_GROUP)}" on ${labelRef(LABEL_MESSAGING_SYSTEM)} is {{ if eq $value ${num(LAG_STATUS.STOP)}.0 }}stopped: it has no active member and its committed offsets have not advanced{{ else }}stalled: it has members but its committed offsets have not advanced{{ end }} while it has lag.`,
        },
      },
      {
        alert: 'ConsumerStalled',
        // The wrappers' view: the handler process is alive but has finished nothing for a while.
        expr:
          `time() - max ${by(CONSUMER_KEY)} (${selector(METRIC_LAST_PROCESSED, config.selectors.services)}) > ${stalledAfter}\n` +
          `and ${on(CONSUMER_KEY)}\n${RECORD_LAG_MESSAGES} > 0`,
        for: ctx.forDuration(config.for.consumerStalled),
        labels: { severity: 'critical', [LABEL_STALL_SIGNAL]: 'processed_deliveries' },
        annotations: {
          summary: 'A consumer group has lag but makes no progress.',
          description: `${CONSUMER_REF} has a backlog but finished no delivery for {{ $value | humanizeDuration }}.`,
        },
      },
      {
        alert: 'BacklogWithoutConsumers',
        expr: consumedDestinations(
          ctx,
          RECORD_LAG_MESSAGES,
          `> 0\nand ${on(CONSUMER_KEY)}\n${RECORD_CONSUMERS} == 0`,
        ),
        for: ctx.forDuration(config.for.backlogWithoutConsumers),
        labels: { severity: 'critical' },
        annotations: {
          summary: 'Messages wait in a destination that has no consumers.',
          description: `${CONSUMER_REF}: {{ $value | humanize }} messages wait and no consumer is attached.`,
        },
      },
    ],
  };
}
