/**
 * The SQS and SNS wrappers on a fake client (span shape and guards; real behaviour is tested on moto in
 * test/integration/aws): throwing hooks, service errors, untouched inputs, pass-through.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { createTestTracing } from '../../test/helpers/tracing.js';
import { createOpenMetricsRegistry } from '../core/metrics.js';
import { instrumentSns, instrumentSqs, processSqsMessage } from './index.js';

class SendMessageCommand {
  constructor(readonly input: Record<string, unknown>) {}
}
class ReceiveMessageCommand {
  constructor(readonly input: Record<string, unknown>) {}
}
class DeleteMessageCommand {
  constructor(readonly input: Record<string, unknown>) {}
}
class PublishCommand {
  constructor(readonly input: Record<string, unknown>) {}
}
class ListQueuesCommand {
  constructor(readonly input: Record<string, unknown>) {}
}

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function fakeClient(answer: (command: { input: Record<string, unknown> }) => unknown) {
  const sent: { name: string; input: Record<string, unknown> }[] = [];
  return {
    sent,
    region: 'us-east-1',
    async send(command: { input: Record<string, unknown> }, ...rest: unknown[]) {
      const cb = rest.find((r) => typeof r === 'function') as ((e: unknown, r: unknown) => void) | undefined;
      sent.push({ name: command.constructor.name, input: command.input });
      const result = answer(command);
      if (cb) cb(null, result);
      if (result instanceof Error) throw result;
      return result;
    },
  };
}

function setup(answer: (command: { input: Record<string, unknown> }) => unknown) {
  const tracing = createTestTracing();
  const registry = createOpenMetricsRegistry();
  const raw = fakeClient(answer);
  const boom = () => {
    throw new Error('hook bug');
  };
  const sqs = instrumentSqs(raw, {
    tracerProvider: tracing.provider,
    registry,
    detectDeadLetterQueues: false,
    hooks: { publishHook: boom, consumeHook: boom, settleHook: boom },
  });
  return { tracing, registry, raw, sqs };
}

describe('instrumentSqs on a fake client', () => {
  it('throwing hooks do not affect the send, the receive or the delete', async () => {
    const { tracing, raw, sqs } = setup((c) => {
      if (c instanceof SendMessageCommand) return { MessageId: 'm-1' };
      if (c instanceof ReceiveMessageCommand) {
        return {
          Messages: [
            {
              MessageId: 'm-1',
              ReceiptHandle: 'r-1',
              Body: 'b',
              Attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()) },
              MessageAttributes: { traceparent: { DataType: 'String', StringValue: TP } },
            },
          ],
        };
      }
      return {};
    });
    const attributes = { kind: { DataType: 'String', StringValue: 'x' } };
    const input = { QueueUrl: 'http://sqs/1/orders', MessageBody: 'b', MessageAttributes: attributes };
    const sent = (await sqs.send(new SendMessageCommand(input))) as { MessageId: string };
    assert.equal(sent.MessageId, 'm-1');
    assert.deepEqual(input.MessageAttributes, attributes, 'the caller input is not mutated');
    assert.deepEqual(Object.keys(raw.sent[0]?.input.MessageAttributes as object).sort(), [
      'kind',
      'traceparent',
      'x-correlation-id',
      'x-hoptrace-published-at',
    ]);
    const received = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: 'http://sqs/1/orders' }))) as {
      Messages: { ReceiptHandle: string; MessageAttributes?: unknown; Attributes?: unknown }[];
    };
    const message = received.Messages[0];
    assert.ok(message);
    assert.equal(message.MessageAttributes, undefined, 'not asked for: not handed back');
    assert.equal(message.Attributes, undefined);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: 'http://sqs/1/orders', ReceiptHandle: 'r-1' }));
    const spans = tracing.spans();
    const process = spans.find((s) => s.kind === SpanKind.CONSUMER);
    assert.ok(process);
    assert.equal(process.attributes['hoptrace.outcome'], 'ack');
    assert.equal(process.parentSpanContext?.spanId, 'b7ad6b7169203331');
    assert.equal(spans.find((s) => s.kind === SpanKind.PRODUCER)?.attributes['messaging.message.id'], 'm-1');
  });

  it('a service error passes through as the same object and fails the producer span', async () => {
    const failure = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    const { tracing, sqs } = setup(() => failure);
    await assert.rejects(
      sqs.send(new SendMessageCommand({ QueueUrl: 'http://sqs/1/orders', MessageBody: 'b' })),
      (err) => err === failure,
    );
    const producer = tracing.spans().find((s) => s.kind === SpanKind.PRODUCER);
    assert.equal(producer?.status.code, SpanStatusCode.ERROR);
    assert.equal(producer?.attributes['error.type'], 'ThrottlingException');
  });

  it('a handler error in processSqsMessage is rethrown unchanged, outcome retry, and the message is not deleted', async () => {
    const { tracing, raw, sqs } = setup((c) =>
      c instanceof ReceiveMessageCommand
        ? {
            Messages: [
              {
                MessageId: 'm-2',
                ReceiptHandle: 'r-2',
                Body: 'b',
                Attributes: { ApproximateReceiveCount: '3' },
              },
            ],
          }
        : {},
    );
    const { Messages } = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: 'http://sqs/1/q' }))) as {
      Messages: { ReceiptHandle: string }[];
    };
    const failure = new Error('handler failed');
    await assert.rejects(
      processSqsMessage(sqs, 'http://sqs/1/q', Messages[0] as object, () => {
        throw failure;
      }),
      (err) => err === failure,
    );
    assert.equal(raw.sent.filter((s) => s.name === 'DeleteMessageCommand').length, 0);
    const process = tracing.spans().find((s) => s.kind === SpanKind.CONSUMER);
    assert.equal(process?.attributes['hoptrace.outcome'], 'retry');
    assert.equal(process?.attributes['hoptrace.delivery.attempt'], 3);
  });

  it('passes other commands, callback style and non-clients through', async () => {
    const { raw, sqs } = setup(() => ({ QueueUrls: [] }));
    const list = new ListQueuesCommand({});
    await sqs.send(list);
    assert.equal(raw.sent[0]?.input, list.input);
    let called = false;
    await sqs.send(new SendMessageCommand({ QueueUrl: 'u', MessageBody: 'b' }), () => {
      called = true;
    });
    assert.equal(called, true);
    assert.equal(raw.sent[1]?.input.MessageAttributes, undefined, 'callback style is not traced');
    assert.equal(instrumentSqs(sqs), sqs, 'instrumenting twice returns the same client');
    const notAClient = { region: 'x' };
    assert.equal(instrumentSqs(notAClient), notAClient);
    assert.equal((sqs as unknown as { region: string }).region, 'us-east-1');
  });
});

describe('instrumentSns on a fake client', () => {
  it('publishes with the context in attributes, a throwing hook changes nothing', async () => {
    const tracing = createTestTracing();
    const raw = fakeClient(() => ({ MessageId: 's-1' }));
    const sns = instrumentSns(raw, {
      tracerProvider: tracing.provider,
      registry: createOpenMetricsRegistry(),
      hooks: {
        publishHook: () => {
          throw new Error('hook bug');
        },
      },
    });
    const r = (await sns.send(
      new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:1:orders', Message: 'm' }),
    )) as {
      MessageId: string;
    };
    assert.equal(r.MessageId, 's-1');
    assert.ok((raw.sent[0]?.input.MessageAttributes as Record<string, unknown> | undefined)?.traceparent);
    const producer = tracing.spans()[0];
    assert.equal(producer?.name, 'publish orders');
    assert.equal(producer?.attributes['messaging.system'], 'aws_sns');
  });
});
