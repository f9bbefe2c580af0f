/** Dead letters: the wrappers' counter (messages being dead-lettered) and the DLQs' depth. */
import {
  LABEL_DEAD_LETTER_SOURCE,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  LABEL_REASON,
  METRIC_DEAD_LETTERED,
} from '../../instrumentation/core/semconv.js';
import { CONSUMER_KEY, RECORD_DLQ_MESSAGES } from './names.js';
import { by, num, selector } from './promql.js';
import { CONSUMER_REF, labelRef } from './templates.js';
import type { AlertingRule, RuleContext, RuleGroup } from './types.js';

const dlq = `dead-letter queue ${labelRef(LABEL_DESTINATION)} (${labelRef(LABEL_MESSAGING_SYSTEM)}, dead letters from ${labelRef(LABEL_DEAD_LETTER_SOURCE)})`;

export function deadLetterAlerts(ctx: RuleContext): RuleGroup<AlertingRule> {
  const { config } = ctx;
  const rate = `rate(${selector(METRIC_DEAD_LETTERED, config.selectors.services)}[${ctx.window(config.windows.deadLetters)}])`;
  const notDrainedFor = ctx.forDuration(config.for.deadLetterQueueNotDrained);
  return {
    name: 'hoptrace.alerts.dead-letters',
    rules: [
      {
        alert: 'DeadLettersIncreasing',
        expr: `sum ${by([...CONSUMER_KEY, LABEL_REASON])} (${rate}) * 60 > ${num(config.thresholds.deadLettersPerMinute)}`,
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
