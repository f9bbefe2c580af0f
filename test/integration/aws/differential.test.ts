/**
 * Differential: the same application run with plain clients and with instrumented ones sees the same
 * answers, messages, attributes, digests, FIFO order and deduplication, errors and redeliveries.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { aws, unique } from './helpers.js';

function attributes(n: number): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Array.from({ length: n }, (_, i) => [
      `user${i}`,
      { DataType: i % 2 ? 'Number' : 'String', StringValue: String(i) },
    ]),
  );
}

/** What the application sees of one received message (IDs, handles and times differ per run). */
function seen(m: Message) {
  return {
    Body: m.Body,
    MD5OfBody: m.MD5OfBody,
    MessageAttributes: m.MessageAttributes,
    MD5OfMessageAttributes: m.MD5OfMessageAttributes,
    Attributes: m.Attributes,
  };
}

function answer(r: object) {
  const { MessageId: _id, SequenceNumber: _seq, $metadata: _meta, ...rest } = r as Record<string, unknown>;
  return rest;
}

async function application(sqs: SQSClient, tag: string) {
  const log: unknown[] = [];
  const standard = (
    await sqs.send(
      new CreateQueueCommand({ QueueName: unique(`diff-${tag}`), Attributes: { VisibilityTimeout: '1' } }),
    )
  ).QueueUrl as string;
  const fifo = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: `${unique(`diff-${tag}`)}.fifo`,
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
      }),
    )
  ).QueueUrl as string;
  try {
    log.push(
      answer(
        await sqs.send(
          new SendMessageCommand({ QueueUrl: standard, MessageBody: 'a', MessageAttributes: attributes(2) }),
        ),
      ),
    );
    log.push(
      answer(
        await sqs.send(
          new SendMessageCommand({ QueueUrl: standard, MessageBody: 'b', MessageAttributes: attributes(10) }),
        ),
      ),
    );
    log.push(answer(await sqs.send(new SendMessageCommand({ QueueUrl: standard, MessageBody: 'c' }))));
    const batch = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: standard,
        Entries: [
          { Id: '1', MessageBody: 'd', MessageAttributes: attributes(9) },
          { Id: '2', MessageBody: 'e' },
        ],
      }),
    );
    log.push(batch.Successful?.map(answer), batch.Failed);
    for (const [body, dedup] of [
      ['f1', 'd1'],
      ['f2', 'd2'],
      ['f1-again', 'd1'],
      ['f3', 'd3'],
    ]) {
      const r = await sqs.send(
        new SendMessageCommand({
          QueueUrl: fifo,
          MessageBody: body,
          MessageGroupId: 'g',
          MessageDeduplicationId: dedup,
        }),
      );
      log.push(answer(r));
    }

    // Receive everything from the standard queue, asking for one attribute and one system attribute.
    const received: Message[] = [];
    for (let i = 0; i < 20 && received.length < 5; i++) {
      const r = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: standard,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['user0'],
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          VisibilityTimeout: 5,
        }),
      );
      received.push(...(r.Messages ?? []));
    }
    log.push(received.map(seen).sort((x, y) => String(x.Body).localeCompare(String(y.Body))));
    // Handle: 'a' fails (error kept, message left), the rest are deleted.
    const failure = new Error('handler failed');
    for (const m of received) {
      try {
        if (m.Body === 'a') throw failure;
        await sqs.send(new DeleteMessageCommand({ QueueUrl: standard, ReceiptHandle: m.ReceiptHandle }));
      } catch (err) {
        log.push(['caught', err === failure]);
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: standard,
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
    }
    const again = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: standard,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    log.push(again.Messages?.map(seen));

    const order: string[] = [];
    for (let i = 0; i < 10 && order.length < 3; i++) {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: fifo, MaxNumberOfMessages: 10 }));
      for (const m of r.Messages ?? []) {
        order.push(m.Body as string);
        await sqs.send(new DeleteMessageCommand({ QueueUrl: fifo, ReceiptHandle: m.ReceiptHandle }));
      }
    }
    log.push(order);
    return log;
  } finally {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: standard })).catch(() => undefined);
    await sqs.send(new DeleteQueueCommand({ QueueUrl: fifo })).catch(() => undefined);
  }
}

describe('differential: plain and instrumented SQS clients', () => {
  it('the application sees the same answers, messages, digests, FIFO order, errors and redeliveries', async (t) => {
    const fx = await aws(t);
    if (!fx) return;
    try {
      const plain = await application(fx.rawSqs, 'plain');
      const traced = await application(fx.sqs, 'traced');
      assert.deepEqual(traced, plain);
      assert.ok(fx.tracing.spans().length > 0);
      // The scenario really covers what it claims: 4 FIFO sends, 3 unique bodies in order.
      assert.deepEqual(plain.at(-1), ['f1', 'f2', 'f3']);
    } finally {
      await fx.close();
    }
  });
});
