/** The resolved options one `instrumentAmqp` call shares with every channel it wraps. */
import { DEFAULT_SETTLE_TIMEOUT_MS } from '../core/delivery.js';
import { createInstrumentation, type Instrumentation } from '../core/instrumentation.js';
import { MESSAGING_SYSTEM_RABBITMQ } from '../core/semconv.js';
import type { AmqpInstrumentationOptions, AmqpMessage, AmqpPublishMessage } from './types.js';

export interface AmqpSettings {
  readonly instr: Instrumentation<AmqpPublishMessage, AmqpMessage>;
  readonly settleTimeoutMs: number;
  readonly deadLetterExchanges: Readonly<Record<string, string>> | undefined;
}

export function resolveSettings(options: AmqpInstrumentationOptions | undefined): AmqpSettings {
  const instr = createInstrumentation<AmqpPublishMessage, AmqpMessage>(
    'amqp',
    MESSAGING_SYSTEM_RABBITMQ,
    options,
  );
  const opts: AmqpInstrumentationOptions = typeof options === 'object' && options !== null ? options : {};

  let settleTimeoutMs = DEFAULT_SETTLE_TIMEOUT_MS;
  if (opts.settleTimeoutMs !== undefined) {
    const value = opts.settleTimeoutMs;
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) settleTimeoutMs = value;
    else
      instr.guard.warnOnce(
        'option:settleTimeoutMs',
        `option settleTimeoutMs is invalid; using ${DEFAULT_SETTLE_TIMEOUT_MS}`,
      );
  }

  let deadLetterExchanges: Record<string, string> | undefined;
  if (opts.deadLetterExchanges !== undefined) {
    const value = opts.deadLetterExchanges as unknown;
    if (
      value !== null &&
      typeof value === 'object' &&
      Object.values(value).every((exchange) => typeof exchange === 'string')
    ) {
      deadLetterExchanges = Object.freeze({ ...(value as Record<string, string>) });
    } else {
      instr.guard.warnOnce('option:deadLetterExchanges', 'option deadLetterExchanges is invalid; using none');
    }
  }

  return { instr, settleTimeoutMs, deadLetterExchanges };
}
