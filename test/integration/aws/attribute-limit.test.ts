/**
 * The 10-attribute limit: moto does not enforce it (11 go through), so each test asserts the count on the
 * received message itself. A caller's attributes always arrive all and unchanged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PublishCommand } from '@aws-sdk/client-sns';
import {
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { SpanKind } from '@opentelemetry/api';
import { PACKED_ATTRIBUTE, processSqsMessage } from '../../../instrumentation/aws/index.js';
import { currentCorrelationId } from '../../../instrumentation/core/correlation.js';
import { aws, metricValue, unique } from './helpers.js';

function attributes(n: number): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (let i = 0; i < n; i++) {
    out[`user${i}`] =
      i % 3 === 2
        ? { DataType: 'Number', StringValue: String(i) }
        : i % 3 === 1
          ? { DataType: 'Binary', BinaryValue: new Uint8Array([i, 255]) }
          : { DataType: 'String', StringValue: `value-${i}` };
  }
  return out;
}

describe('the 10-attribute limit', () => {
  // hoptrace writes 3 headers here (lean: traceparent, x-correlation-id, published-at): 7 + 3 = 10.
  for (const [count, mode] of [
    [3, 'attributes'],
    [7, 'attributes'],
    [8, 'packed'],
    [9, 'packed'],
    [10, 'aws_trace_header'],
  ] as const) {
    it(`${count} user attributes: all delivered unchanged, never more than 10, traced (${mode})`, async (t) => {
      const fx = await aws(t);
      if (!fx) return;
      try {
        const queue = await fx.createQueue(unique(`attrs${count}`), { VisibilityTimeout: '1' });
        const user = attributes(count);
        const userCopy = structuredClone(user);
        await fx.sqs.send(
          new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'b', MessageAttributes: user }),
        );
        assert.deepEqual(user, userCopy, 'the caller object is not mutated');

        // What is on the queue, read by a plain client asking for everything.
        const raw = await fx.rawSqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
            WaitTimeSeconds: 1,
            VisibilityTimeout: 0,
          }),
        );
        const onQueue = raw.Messages?.[0];
        assert.ok(onQueue);
        const names = Object.keys(onQueue.MessageAttributes ?? {});
        assert.ok(names.length <= 10, `${names.length} attributes`);
        for (const [name, value] of Object.entries(user)) {
          const got: MessageAttributeValue | undefined = onQueue.MessageAttributes?.[name];
          assert.equal(got?.DataType, value.DataType, name);
          if (value.BinaryValue)
            assert.deepEqual(Buffer.from(got?.BinaryValue ?? []), Buffer.from(value.BinaryValue));
          else assert.equal(got?.StringValue, value.StringValue, name);
        }
        if (mode === 'attributes')
          assert.ok(names.includes('traceparent') && names.includes('x-correlation-id'));
        if (mode === 'packed')
          assert.deepEqual(
            names.filter((n) => !n.startsWith('user')),
            [PACKED_ATTRIBUTE],
          );
        if (mode === 'aws_trace_header') {
          assert.equal(names.length, 10);
          assert.match(
            onQueue.Attributes?.AWSTraceHeader ?? '',
            /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=1$/,
          );
        }

        let handlerCorrelation: string | undefined;
        const received = await fx.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            MessageAttributeNames: ['All'],
            WaitTimeSeconds: 1,
          }),
        );
        const message = received.Messages?.[0];
        assert.ok(message);
        await processSqsMessage(fx.sqs, queue.url, message, () => {
          handlerCorrelation = currentCorrelationId();
        });

        const spans = fx.tracing.spans();
        const producer = spans.find((s) => s.kind === SpanKind.PRODUCER);
        const consumer = spans.find((s) => s.kind === SpanKind.CONSUMER);
        assert.ok(producer && consumer);
        assert.equal(producer.attributes['hoptrace.propagation'], mode);
        assert.equal(consumer.spanContext().traceId, producer.spanContext().traceId);
        assert.equal(consumer.parentSpanContext?.spanId, producer.spanContext().spanId);
        const correlationId = producer.attributes['messaging.message.conversation_id'];
        if (mode === 'aws_trace_header') {
          // The trace arrives; the correlation ID cannot: the consumer starts its own, and the send is counted.
          assert.notEqual(consumer.attributes['messaging.message.conversation_id'], correlationId);
          assert.equal(
            await metricValue(fx.registry, 'hoptrace_context_not_propagated_total', {
              reason: 'aws_trace_header',
            }),
            1,
          );
        } else {
          assert.equal(consumer.attributes['messaging.message.conversation_id'], correlationId);
          assert.equal(handlerCorrelation, correlationId);
          assert.equal(await metricValue(fx.registry, 'hoptrace_context_not_propagated_total'), 0);
        }
        // 'All' asked: the user's attributes come back, with ours (they are attributes of the message).
        for (const name of Object.keys(user)) assert.ok(message.MessageAttributes?.[name], name);
      } finally {
        await fx.close();
      }
    });
  }

  it('a caller that asked for named attributes gets exactly those (and the matching MD5)', async (t) => {
    const fx = await aws(t);
    if (!fx) return;
    try {
      const queue = await fx.createQueue(unique('named'));
      await fx.sqs.send(
        new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'b', MessageAttributes: attributes(3) }),
      );
      const plainQueue = await fx.createQueue(unique('named-plain'));
      await fx.rawSqs.send(
        new SendMessageCommand({
          QueueUrl: plainQueue.url,
          MessageBody: 'b',
          MessageAttributes: attributes(3),
        }),
      );
      const ask = {
        MessageAttributeNames: ['user0', 'user2'],
        MessageSystemAttributeNames: ['SentTimestamp' as const],
      };
      const traced = (await fx.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, ...ask })))
        .Messages?.[0];
      const plain = (await fx.rawSqs.send(new ReceiveMessageCommand({ QueueUrl: plainQueue.url, ...ask })))
        .Messages?.[0];
      assert.ok(traced && plain);
      assert.deepEqual(Object.keys(traced.MessageAttributes ?? {}).sort(), ['user0', 'user2']);
      assert.deepEqual(traced.MessageAttributes, plain.MessageAttributes);
      assert.equal(traced.MD5OfMessageAttributes, plain.MD5OfMessageAttributes);
      assert.deepEqual(Object.keys(traced.Attributes ?? {}), ['SentTimestamp']);
    } finally {
      await fx.close();
    }
  });

  it('SendMessageBatch and SNS Publish keep the same rule; SNS with 10 attributes is counted, not traced', async (t) => {
    const fx = await aws(t);
    if (!fx) return;
    try {
      const queue = await fx.createQueue(unique('batch'));
      const result = await fx.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: [
            { Id: 'a', MessageBody: 'a', MessageAttributes: attributes(2) },
            { Id: 'b', MessageBody: 'b', MessageAttributes: attributes(9) },
            { Id: 'c', MessageBody: 'c', MessageAttributes: attributes(10) },
          ],
        }),
      );
      assert.equal(result.Successful?.length, 3);
      const producers = fx.tracing.spans().filter((s) => s.kind === SpanKind.PRODUCER);
      assert.deepEqual(
        producers.map((s) => s.attributes['hoptrace.propagation']),
        ['attributes', 'packed', 'aws_trace_header'],
      );
      assert.deepEqual(
        producers.map((s) => s.attributes['messaging.message.id']).sort(),
        (result.Successful ?? []).map((s) => s.MessageId).sort(),
      );

      const topicArn = await fx.createTopic(unique('attrs'));
      const target = await fx.createQueue(unique('attrs-sub'));
      await fx.subscribe(topicArn, target.arn, true);
      const snsAttributes = Object.fromEntries(
        Array.from({ length: 10 }, (_, i) => [`user${i}`, { DataType: 'String', StringValue: `v${i}` }]),
      );
      await fx.sns.send(
        new PublishCommand({ TopicArn: topicArn, Message: 'm', MessageAttributes: snsAttributes }),
      );
      const got = await fx.rawSqs.send(
        new ReceiveMessageCommand({
          QueueUrl: target.url,
          MessageAttributeNames: ['All'],
          WaitTimeSeconds: 1,
        }),
      );
      assert.deepEqual(got.Messages?.[0]?.MessageAttributes, snsAttributes);
      assert.equal(
        await metricValue(fx.registry, 'hoptrace_context_not_propagated_total', {
          messaging_system: 'aws_sns',
          reason: 'attribute_limit',
        }),
        1,
      );
    } finally {
      await fx.close();
    }
  });
});
