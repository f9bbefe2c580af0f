/** Flow-level findings of the collector's span linking. */
import {
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  METRIC_UNCONSUMED,
} from '../../instrumentation/core/semconv.js';
import { DESTINATION_KEY } from './names.js';
import { by, selector } from './promql.js';
import { labelRef } from './templates.js';
import type { AlertingRule, RuleContext, RuleGroup } from './types.js';

export function flowAlerts(ctx: RuleContext): RuleGroup<AlertingRule> {
  const { config } = ctx;
  const window = ctx.window(config.windows.unconsumed);
  return {
    name: 'hoptrace.alerts.flows',
    rules: [
      {
        alert: 'UnconsumedMessages',
        expr: `sum ${by(DESTINATION_KEY)} (increase(${selector(METRIC_UNCONSUMED, config.selectors.collector)}[${window}])) > 0`,
        for: ctx.forDuration(config.for.unconsumedMessages),
        labels: { severity: 'warning' },
        annotations: {
          summary: 'Published messages were never delivered to any consumer.',
          description: `{{ $value | humanize }} messages published to ${labelRef(LABEL_MESSAGING_SYSTEM)} ${labelRef(LABEL_DESTINATION)} in the last ${window} had no delivery before the collector's deadline.`,
        },
      },
    ],
  };
}
