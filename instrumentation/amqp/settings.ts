/** The resolved options one `instrumentAmqp` call shares with every channel it wraps. */

import { MESSAGING_SYSTEM_RABBITMQ } from '../core/semconv.js';
import {
  createInstrumentation,
  DEFAULT_OPTIONS,
  type Instrumentation,
  type OptionRule,
  RULES,
  resolveOption,
  warnPolicy,
} from '../transport/index.js';
import type { AmqpInstrumentationOptions, AmqpMessage, AmqpPublishMessage } from './types.js';

export interface AmqpSettings {
  readonly instr: Instrumentation<AmqpPublishMessage, AmqpMessage>;
  readonly settleTimeoutMs: number;
  readonly deadLetterExchanges: Readonly<Record<string, string>> | undefined;
  /** The `temporaryQueues` option as a function: true, false, or undefined for hoptrace's rule. */
  readonly temporaryQueue: ((queue: string) => boolean | undefined) | undefined;
  readonly applicationCorrelationId: boolean;
}

const TEMPORARY_QUEUES: OptionRule<RegExp | ((queue: string) => boolean | undefined)> = {
  expected: 'a RegExp or a function',
  accepts: (v): v is RegExp | ((queue: string) => boolean | undefined) =>
    v instanceof RegExp || typeof v === 'function',
};

const BOOLEAN: OptionRule<boolean> = {
  expected: 'a boolean',
  accepts: (v): v is boolean => typeof v === 'boolean',
};

/** Queue name -> dead-letter exchange name. */
const EXCHANGE_MAP: OptionRule<Record<string, string>> = {
  expected: 'a map of queue names to exchange names',
  accepts: (v): v is Record<string, string> =>
    typeof v === 'object' && v !== null && Object.values(v).every((exchange) => typeof exchange === 'string'),
};

export function resolveSettings(options: AmqpInstrumentationOptions | undefined): AmqpSettings {
  const instr = createInstrumentation<AmqpPublishMessage, AmqpMessage>(
    'amqp',
    MESSAGING_SYSTEM_RABBITMQ,
    options,
  );
  const opts: AmqpInstrumentationOptions = typeof options === 'object' && options !== null ? options : {};
  const policy = warnPolicy(instr.guard);
  const settleTimeoutMs = resolveOption(
    policy,
    'settleTimeoutMs',
    opts.settleTimeoutMs,
    RULES.nonNegativeNumber,
    DEFAULT_OPTIONS.settleTimeoutMs,
  );
  const exchanges = resolveOption(
    policy,
    'deadLetterExchanges',
    opts.deadLetterExchanges,
    EXCHANGE_MAP,
    undefined,
    'none',
  );
  const deadLetterExchanges = exchanges && Object.freeze({ ...exchanges });
  const temporary = resolveOption(
    policy,
    'temporaryQueues',
    opts.temporaryQueues,
    TEMPORARY_QUEUES,
    undefined,
  );
  let temporaryQueue: AmqpSettings['temporaryQueue'];
  if (temporary instanceof RegExp) {
    // A copy without the global/sticky flags, whose lastIndex would make test() stateful.
    const pattern = new RegExp(temporary.source, temporary.flags.replace(/[gy]/g, ''));
    temporaryQueue = (queue) => (pattern.test(queue) ? true : undefined);
  } else temporaryQueue = temporary;
  const applicationCorrelationId = resolveOption(
    policy,
    'applicationCorrelationId',
    opts.applicationCorrelationId,
    BOOLEAN,
    true,
  );

  return { instr, settleTimeoutMs, deadLetterExchanges, temporaryQueue, applicationCorrelationId };
}
