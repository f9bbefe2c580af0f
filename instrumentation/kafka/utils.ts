/** Pure helpers of the Kafka wrapper: attribute values and timestamps. */
import type { Attributes } from '@opentelemetry/api';
import type { KafkaMessage, Message } from 'kafkajs';
import {
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_MESSAGE_BODY_SIZE,
} from '../core/semconv.js';

const MAX_KEY_LENGTH = 256;
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
