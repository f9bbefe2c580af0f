/** Pure helpers of the Kafka wrapper: attribute values, timestamps, dead-letter headers. */
import type { Attributes } from '@opentelemetry/api';
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { DeadLetterInfo } from '../core/delivery.js';
import { headerString } from '../core/propagation.js';
import {
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_MESSAGE_BODY_SIZE,
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
} from '../core/semconv.js';

const MAX_KEY_LENGTH = 256;
export const MAX_DEAD_LETTER_ERROR_LENGTH = 1024;
const PRINTABLE = /^[\x20-\x7e\u00a0-\uffff]*$/;

/** `messaging.kafka.message.key`: string keys as they are; byte keys when they are printable UTF-8. */
export function keyAttribute(key: Buffer | string | null | undefined): string | undefined {
  if (key === null || key === undefined) return undefined;
  const text = typeof key === 'string' ? key : Buffer.isBuffer(key) ? key.toString('utf8') : undefined;
  if (text === undefined || text.length === 0 || !PRINTABLE.test(text) || text.includes('\ufffd'))
    return undefined;
  return text.slice(0, MAX_KEY_LENGTH);
}

export function bodySize(value: Buffer | string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return Buffer.byteLength(value);
  return Buffer.isBuffer(value) ? value.length : undefined;
}

/** Attributes of one outgoing message: key, explicit partition. */
export function producerAttributes(message: Message, batchSize: number): Attributes {
  const attributes: Attributes = {};
  const key = keyAttribute(message.key);
  if (key !== undefined) attributes[ATTR_MESSAGING_KAFKA_MESSAGE_KEY] = key;
  if (typeof message.partition === 'number')
    attributes[ATTR_MESSAGING_DESTINATION_PARTITION_ID] = String(message.partition);
  const size = bodySize(message.value);
  if (size !== undefined) attributes[ATTR_MESSAGING_MESSAGE_BODY_SIZE] = size;
  if (batchSize > 1) attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT] = batchSize;
  return attributes;
}

/** Attributes of one consumed record: partition, offset, key, body size. */
export function consumerAttributes(partition: number, message: KafkaMessage): Attributes {
  const attributes: Attributes = { [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(partition) };
  const offset = Number(message.offset);
  if (Number.isSafeInteger(offset)) attributes[ATTR_MESSAGING_KAFKA_OFFSET] = offset;
  const key = keyAttribute(message.key);
  if (key !== undefined) attributes[ATTR_MESSAGING_KAFKA_MESSAGE_KEY] = key;
  const size = bodySize(message.value);
  if (size !== undefined) attributes[ATTR_MESSAGING_MESSAGE_BODY_SIZE] = size;
  return attributes;
}

/** The record's timestamp (CreateTime, or LogAppendTime when the topic says so) in epoch ms, if sane. */
export function recordTimestamp(message: { timestamp?: string }): number | undefined {
  const value = Number(message.timestamp);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

export function deadLetterTopicFor(
  topic: string | ((sourceTopic: string) => string) | undefined,
  sourceTopic: string,
): string {
  if (typeof topic === 'function') return topic(sourceTopic);
  return topic ?? `${sourceTopic}.dlq`;
}

export interface DeadLetterDetails {
  reason: DeadLetterReason;
  error: unknown;
  errorType: string;
  attempts: number;
  topic: string;
  partition: number;
  offset: string;
  group: string | undefined;
  at: number;
}

/** The dead letter's headers: the original ones untouched, plus hoptrace's `x-hoptrace-dead-letter-*`. */
export function deadLetterHeaders(original: IHeaders | undefined, details: DeadLetterDetails): IHeaders {
  const message =
    details.error instanceof Error ? details.error.message : String(details.error ?? 'unknown error');
  const headers: IHeaders = {
    ...original,
    [HEADER_DEAD_LETTER_REASON]: details.reason,
    [HEADER_DEAD_LETTER_ERROR]: message.slice(0, MAX_DEAD_LETTER_ERROR_LENGTH),
    [HEADER_DEAD_LETTER_ERROR_TYPE]: details.errorType,
    [HEADER_DEAD_LETTER_ATTEMPTS]: String(details.attempts),
    [HEADER_DEAD_LETTER_SOURCE]: details.topic,
    [HEADER_DEAD_LETTER_SOURCE_PARTITION]: String(details.partition),
    [HEADER_DEAD_LETTER_SOURCE_OFFSET]: details.offset,
    [HEADER_DEAD_LETTER_AT]: String(details.at),
  };
  if (details.group !== undefined) headers[HEADER_DEAD_LETTER_GROUP] = details.group;
  return headers;
}

/**
 * A consumed dead letter's origin, from its headers: its delivery span carries the reason and source.
 * Not counted again in the dead-letter metric (that happened when it was dead-lettered).
 */
export function deadLetterInfoOf(headers: IHeaders | undefined): DeadLetterInfo | undefined {
  if (!headers) return undefined;
  const reason = headerString(headers[HEADER_DEAD_LETTER_REASON]);
  if (reason === undefined || !(DEAD_LETTER_REASONS as readonly string[]).includes(reason)) return undefined;
  const source = headerString(headers[HEADER_DEAD_LETTER_SOURCE]);
  return { reason: reason as DeadLetterReason, source: source?.slice(0, 256), count: false };
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
