/** Dead letters: the wrappers' counter (messages being dead-lettered) and the DLQs' depth. */
import {
  LABEL_DEAD_LETTER_SOURCE,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  LABEL_REASON,
  METRIC_DEAD_LETTER_HOPS,
  METRIC_DEAD_LETTERED,
} from '../../instrumentation/core/semconv.js';
import { CONSUMER_KEY, RECORD_DLQ_MESSAGES } from './names.js';
import { by, num, on, selector } from './promql.js';
import { CONSUMER_REF, labelRef } from './templates.js';
import type { AlertingRule, RuleContext, RuleGroup } from './types.js';

const dlq = `dead-letter queue ${labelRef(LABEL_DESTINATION)} (${labelRef(LABEL_MESSAGING_SYSTEM)}, dead letters from ${labelRef(LABEL_DEAD_LETTER_SOURCE)})`;

export function deadLetterAlerts(ctx: RuleContext): RuleGroup<AlertingRule> {
  const { config } = ctx;
  const window = ctx.window(config.windows.deadLetters);
  const perMinute = (metric: string, sel: string) =>
    `sum ${by([...CONSUMER_KEY, LABEL_REASON])} (rate(${selector(metric, sel)}[${window}])) * 60 > ${num(config.thresholds.deadLettersPerMinute)}`;
  const byWrappers = perMinute(METRIC_DEAD_LETTERED, config.selectors.services);
  const byCollector = perMinute(METRIC_DEAD_LETTER_HOPS, config.selectors.collector);
  const notDrainedFor = ctx.forDuration(config.for.deadLetterQueueNotDrained);
  return {
    name: 'hoptrace.alerts.dead-letters',
    rules: [
      {
        alert: 'DeadLettersIncreasing',
        // The wrappers count where they see the dead letter: Kafka and the bus at the consumer that
        // gave up, RabbitMQ only when something consumes the dead-letter queue. The collector counts
        // every rejecting consumer span, so a RabbitMQ dead-letter queue nobody reads still alerts;
        // it is used for a system and reason the wrappers report nothing for, so one event never
        // alerts twice (once under the dead-letter queue's name, once under the source's).
        expr: `${byWrappers}\nor (\n${byCollector}\nunless ${on([LABEL_MESSAGING_SYSTEM, LABEL_REASON])}\n${byWrappers}\n)`,
        for: ctx.forDuration(config.for.deadLettersIncreasing),
        labels: { severity: 'warning' },
        annotations: {
          summary: 'Consumers keep dead-lettering messages.',
          description: `${CONSUMER_REF} dead-letters {{ $value | humanize }} messages per minute, reason ${labelRef(LABEL_REASON)}.`,
        },
      },
      {
        alert: 'DeadLetterQueueGrowing',
        // Per minute, so the value reads well; a DLQ that is non-empty but shrinking has deriv < 0.
        expr: `deriv(${RECORD_DLQ_MESSAGES}[${ctx.window(config.windows.deadLetterQueueTrend)}]) * 60 > 0\nand\n${RECORD_DLQ_MESSAGES} > 0`,
        for: ctx.forDuration(config.for.deadLetterQueueGrowing),
        labels: { severity: 'warning' },
        annotations: {
          summary: 'A dead-letter queue keeps growing.',
          description: `The ${dlq} grows by {{ $value | humanize }} messages per minute.`,
        },
      },
      {
        alert: 'DeadLetterQueueNotDrained',
        expr: `${RECORD_DLQ_MESSAGES} > 0\nand\nderiv(${RECORD_DLQ_MESSAGES}[${ctx.window(config.windows.deadLetterQueueDrain)}]) >= 0`,
        for: notDrainedFor,
        labels: { severity: 'info' },
        annotations: {
          summary: 'Dead letters sit in a dead-letter queue and nobody drains it.',
          description: `{{ $value | humanize }} messages have been in the ${dlq} for ${notDrainedFor} or longer without the queue shrinking.`,
        },
      },
    ],
  };
}
