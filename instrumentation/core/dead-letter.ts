/**
 * The dead-letter rule of every transport that dead-letters by itself (the bus, Kafka; RabbitMQ's broker
 * writes its own `x-death`): where the message goes, which headers it carries, how its failed delivery
 * ends, and how a consumer of the dead-letter destination reads those headers back. Documented in
 * docs/contract.md ("Dead letters").
 */
import type { DeadLetterInfo, Delivery } from './delivery.js';
import { headerString } from './propagation.js';
import {
  DEAD_LETTER_REASONS,
  type DeadLetterReason,
  HEADER_DEAD_LETTER_AT,
  HEADER_DEAD_LETTER_ATTEMPTS,
  HEADER_DEAD_LETTER_ERROR,
  HEADER_DEAD_LETTER_ERROR_TYPE,
  HEADER_DEAD_LETTER_GROUP,
  HEADER_DEAD_LETTER_REASON,
  HEADER_DEAD_LETTER_SOURCE,
  HEADER_DEAD_LETTER_SOURCE_OFFSET,
  HEADER_DEAD_LETTER_SOURCE_PARTITION,
} from './semconv.js';
import { errorTypeOf } from './spans.js';

/** Longest `x-hoptrace-dead-letter-error` value, in characters. */
export const MAX_DEAD_LETTER_ERROR_LENGTH = 512;
/** Longest source or group read back from a dead letter's headers. */
const MAX_DEAD_LETTER_NAME_LENGTH = 256;
/** The default dead-letter destination is the source's name plus this. */
export const DEAD_LETTER_SUFFIX = '.dlq';

/** A dead-letter destination option: a name, or a function of the source destination. */
export type DeadLetterDestination = string | ((source: string) => string);

/** Where a message from `source` is dead-lettered: the option's answer, else `<source>.dlq`. */
export function deadLetterDestinationFor(option: DeadLetterDestination | undefined, source: string): string {
  if (typeof option === 'function') return option(source);
  return option ?? `${source}${DEAD_LETTER_SUFFIX}`;
}

export interface DeadLetterDetails {
  reason: DeadLetterReason;
  /** The last attempt's error, as the handler threw it. */
  error: unknown;
  /** Attempts made, the first delivery included. */
  attempts: number;
  /** The queue or topic the message was dead-lettered from. */
  source: string;
  /** The consumer group that gave up on it, when it has one. */
  group?: string;
  /** Where the source has partitions (Kafka): the record's partition and offset. */
  partition?: number;
  offset?: string;
  /** Epoch ms of the dead-lettering. */
  at: number;
}

/** `x-hoptrace-dead-letter-error`: `<error.type>: <message>` for an Error, else its text; at most 512 characters. */
export function deadLetterErrorText(error: unknown): string {
  let text: string;
  if (error instanceof Error) text = `${errorTypeOf(error)}: ${error.message}`;
  else if (error === undefined || error === null) text = 'unknown error';
  else text = String(error);
  return text.slice(0, MAX_DEAD_LETTER_ERROR_LENGTH);
}

/**
 * The dead letter's headers: a copy of the original ones plus `x-hoptrace-dead-letter-reason`, `-error`,
 * `-error-type`, `-attempts`, `-source`, `-at`, and `-group`, `-source-partition`, `-source-offset`
 * where they apply. The original trace context and correlation ID stay, so the dead letter's delivery
 * joins the original flow.
 */
export function deadLetterHeaders<H extends Record<string, unknown>>(
  original: H | null | undefined,
  details: DeadLetterDetails,
): H & Record<string, string> {
  const headers: Record<string, unknown> = { ...original };
  headers[HEADER_DEAD_LETTER_REASON] = details.reason;
  headers[HEADER_DEAD_LETTER_ERROR] = deadLetterErrorText(details.error);
  headers[HEADER_DEAD_LETTER_ERROR_TYPE] = errorTypeOf(details.error);
  headers[HEADER_DEAD_LETTER_ATTEMPTS] = String(details.attempts);
  headers[HEADER_DEAD_LETTER_SOURCE] = details.source;
  if (details.partition !== undefined)
    headers[HEADER_DEAD_LETTER_SOURCE_PARTITION] = String(details.partition);
  if (details.offset !== undefined) headers[HEADER_DEAD_LETTER_SOURCE_OFFSET] = details.offset;
  headers[HEADER_DEAD_LETTER_AT] = String(details.at);
  if (details.group !== undefined) headers[HEADER_DEAD_LETTER_GROUP] = details.group;
  return headers as H & Record<string, string>;
}

/**
 * hoptrace itself gave up on the message: its delivery ends `dead_letter` with the handler's error, and
 * the dead-letter event is counted once in `hoptrace_dead_lettered_messages_total{reason}` (here, not
 * again when the dead letter is consumed).
 */
export function settleDeadLettered(
  delivery: Delivery,
  error: unknown,
  reason: DeadLetterReason = 'max_attempts',
): void {
  delivery.settle('dead_letter', { error, deadLetterReason: reason, countDeadLetter: true });
}

/**
 * A consumed dead letter's origin, from the headers hoptrace wrote: its delivery span carries the reason
 * and source. Not counted again (that happened when it was dead-lettered). Undefined for other messages.
 */
export function deadLetterInfoOf(
  headers: Record<string, unknown> | null | undefined,
): DeadLetterInfo | undefined {
  if (!headers) return undefined;
  const reason = headerString(headers[HEADER_DEAD_LETTER_REASON]);
  if (reason === undefined || !(DEAD_LETTER_REASONS as readonly string[]).includes(reason)) return undefined;
  const source = headerString(headers[HEADER_DEAD_LETTER_SOURCE]);
  return {
    reason: reason as DeadLetterReason,
    source: source?.slice(0, MAX_DEAD_LETTER_NAME_LENGTH),
    count: false,
  };
}
