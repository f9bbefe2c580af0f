/**
 * The traced producer: one `send {topic}` span per message, hoptrace headers on a copy of each message.
 * The caller's record, messages and headers are never mutated; when any hoptrace step fails the record
 * goes to kafkajs exactly as given.
 */
import type { Message, Producer, ProducerBatch, ProducerRecord, RecordMetadata, Transaction } from 'kafkajs';
import { ATTR_MESSAGING_DESTINATION_PARTITION_ID, ATTR_MESSAGING_KAFKA_OFFSET } from '../core/semconv.js';
import { type PublishOperation, shallowCopy, startPublish } from '../transport/index.js';
import type { KafkaInstr } from './internal-types.js';
import type { KafkaPublishMessage } from './types.js';
import { producerAttributes } from './utils.js';

type Sender = Pick<Producer, 'send' | 'sendBatch'>;

/** The publishes of one send/sendBatch call, ended together when kafkajs answers. */
interface TracedSend {
  operations: PublishOperation[];
  /** Ends every span; on success a single-message send also records its partition and offset. */
  end(result: RecordMetadata[] | undefined, error?: unknown): void;
}

/** What a publish gets as its hooks' message when no publish hook is set (nothing reads it then). */
const UNHOOKED: KafkaPublishMessage = Object.freeze({ topic: '', message: Object.freeze({ value: null }) });

function tracedMessages(
  instr: KafkaInstr,
  topic: string,
  messages: Message[],
  operations: PublishOperation[],
): Message[] {
  const hooked = instr.hooks.publishHook !== undefined;
  return messages.map((message) => {
    // Lean headers: the record timestamp (CreateTime) is the publish time, unless the caller set its own.
    const stamp = message.timestamp === undefined || message.timestamp === null;
    const operation = startPublish(instr, {
      destination: topic,
      operationName: 'send',
      headers: message.headers as Record<string, unknown> | undefined,
      messageIdHeader: true,
      brokerPublishTime: stamp,
      attributes: () => producerAttributes(message, messages.length),
      message: hooked ? { topic, message } : UNHOOKED,
    });
    operations.push(operation);
    const traced = shallowCopy(message);
    traced.headers = operation.headers as Message['headers'];
    if (stamp) traced.timestamp = String(operation.publishedAt);
    return traced;
  });
}

function finisher(instr: KafkaInstr, operations: PublishOperation[]): TracedSend['end'] {
  return (result, error) => {
    instr.guard.do('send end', () => {
      const only = operations.length === 1 ? operations[0] : undefined;
      const meta = result?.length === 1 ? result[0] : undefined;
      if (only && meta && error === undefined) {
        only.span.setAttribute(ATTR_MESSAGING_DESTINATION_PARTITION_ID, String(meta.partition));
        const offset = Number(meta.baseOffset ?? meta.offset);
        if (Number.isSafeInteger(offset) && offset >= 0)
          only.span.setAttribute(ATTR_MESSAGING_KAFKA_OFFSET, offset);
      }
    });
    for (const operation of operations) operation.end(error);
  };
}

function prepareSend(
  instr: KafkaInstr,
  record: ProducerRecord,
): { record: ProducerRecord; traced: TracedSend } {
  const operations: PublishOperation[] = [];
  const messages = tracedMessages(instr, record.topic, record.messages, operations);
  return { record: { ...record, messages }, traced: { operations, end: finisher(instr, operations) } };
}

function prepareSendBatch(
  instr: KafkaInstr,
  batch: ProducerBatch,
): { record: ProducerBatch; traced: TracedSend } {
  const operations: PublishOperation[] = [];
  const topicMessages = (batch.topicMessages ?? []).map((entry) => ({
    ...entry,
    messages: tracedMessages(instr, entry.topic, entry.messages, operations),
  }));
  const record = batch.topicMessages ? { ...batch, topicMessages } : batch;
  return { record, traced: { operations, end: finisher(instr, operations) } };
}

async function traced<R>(
  prepared: { record: R; traced: TracedSend } | undefined,
  original: R,
  send: (record: R) => Promise<RecordMetadata[]>,
): Promise<RecordMetadata[]> {
  if (!prepared) return send(original);
  let result: RecordMetadata[];
  try {
    result = await send(prepared.record);
  } catch (err) {
    prepared.traced.end(undefined, err);
    throw err;
  }
  prepared.traced.end(result);
  return result;
}

/** `send` and `sendBatch` of `target`, traced. */
function tracedSender(instr: KafkaInstr, target: Sender): Sender {
  return {
    send(record: ProducerRecord) {
      const prepared = instr.guard.run(
        'send',
        () => prepareSend(instr, record),
        () => undefined,
      );
      return traced(prepared, record, (r) => target.send(r));
    },
    sendBatch(batch: ProducerBatch) {
      const prepared = instr.guard.run(
        'sendBatch',
        () => prepareSendBatch(instr, batch),
        () => undefined,
      );
      return traced(prepared, batch, (b) => target.sendBatch(b));
    },
  };
}

/** The transaction with traced sends; `commit`, `abort`, `sendOffsets`, `isActive` pass through. */
export function wrapTransaction(instr: KafkaInstr, transaction: Transaction): Transaction {
  const sender = tracedSender(instr, transaction);
  return new Proxy(transaction, {
    get(target, prop, receiver) {
      if (prop === 'send') return sender.send;
      if (prop === 'sendBatch') return sender.sendBatch;
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** The producer with traced `send`, `sendBatch` and `transaction()`; everything else passes through. */
export function wrapProducer(instr: KafkaInstr, producer: Producer): Producer {
  const sender = tracedSender(instr, producer);
  const transaction = async (): Promise<Transaction> => {
    const tx = await producer.transaction();
    return instr.guard.run(
      'transaction',
      () => wrapTransaction(instr, tx),
      () => tx,
    );
  };
  return new Proxy(producer, {
    get(target, prop, receiver) {
      if (prop === 'send') return sender.send;
      if (prop === 'sendBatch') return sender.sendBatch;
      if (prop === 'transaction') return transaction;
      return Reflect.get(target, prop, receiver);
    },
  });
}
