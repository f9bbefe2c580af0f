/**
 * BullMQ. Failed-set growth and the waiting backlog's age need no rules of their own: the collector's
 * BullMQ monitor exports the failed set as `hoptrace_dlq_messages` (DeadLetterQueueGrowing,
 * DeadLetterQueueNotDrained), the workers count each failed job in `hoptrace_dead_lettered_messages_total`
 * (DeadLettersIncreasing), and the oldest waiting job's age is consumer lag (ConsumerLagHigh).
 * What only BullMQ has: stalled jobs (a worker died or blocked its event loop mid-job) and paused queues.
 */
import {
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  LABEL_QUEUE_STATE,
  MESSAGING_SYSTEM_BULLMQ,
  METRIC_QUEUE_MESSAGES,
  METRIC_QUEUE_PAUSED,
  METRIC_STALLED_JOBS,
} from '../../instrumentation/core/semconv.js';
import { DESTINATION_KEY } from './names.js';
import { by, num, on, quote, selector } from './promql.js';
import { labelRef } from './templates.js';
import type { AlertingRule, RuleContext, RuleGroup } from './types.js';

export function bullmqAlerts(ctx: RuleContext): RuleGroup<AlertingRule> {
  const { config } = ctx;
  const stalledWindow = ctx.window(config.windows.stalledJobs);
  const bullmq = `${LABEL_MESSAGING_SYSTEM}=${quote(MESSAGING_SYSTEM_BULLMQ)}`;
  const queue = `${labelRef(LABEL_DESTINATION)}`;
  const pausedFor = ctx.forDuration(config.for.queuePausedWithBacklog);
  return {
    name: 'hoptrace.alerts.bullmq',
    rules: [
      {
        alert: 'BullMQJobsStalled',
        expr: `sum ${by(DESTINATION_KEY)} (increase(${selector(METRIC_STALLED_JOBS, config.selectors.services)}[${stalledWindow}])) > ${num(config.thresholds.stalledJobs)}`,
        for: ctx.forDuration(config.for.jobsStalled),
        labels: { severity: 'warning' },
        annotations: {
          summary: 'BullMQ jobs stall: their worker died or blocked its event loop mid-job.',
          description: `{{ $value | humanize }} jobs of BullMQ queue ${queue} stalled in the last ${stalledWindow} and were moved back or failed.`,
        },
      },
      {
        alert: 'BullMQQueuePausedWithBacklog',
        expr: `sum ${by(DESTINATION_KEY)} (${selector(METRIC_QUEUE_MESSAGES, config.selectors.collector, bullmq, `${LABEL_QUEUE_STATE}=~"ready|prioritized"`)}) > 0\nand ${on(DESTINATION_KEY)}\nmax ${by(DESTINATION_KEY)} (${selector(METRIC_QUEUE_PAUSED, config.selectors.collector, bullmq)}) == 1`,
        for: pausedFor,
        labels: { severity: 'info' },
        annotations: {
          summary: 'A paused BullMQ queue has jobs waiting.',
          description: `BullMQ queue ${queue} has been paused for ${pausedFor} or longer with {{ $value | humanize }} jobs waiting.`,
        },
      },
    ],
  };
}
