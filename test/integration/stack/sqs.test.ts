/**
 * The SQS/SNS emulator (moto): the fan-out path the AWS transport relies on, and the two places where
 * moto is known to differ from AWS (docs/stack.md cites this file for both).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  PublishCommand,
  SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { uniqueName } from '../../helpers/stack.js';

const clientConfig = {
  endpoint: stackEndpoint('HOPTRACE_SQS_ENDPOINT'),
  region: 'us-east-1',
  credentials: { accessKeyId: 'hoptrace', secretAccessKey: 'hoptrace' },
};

async function queue(t: import('node:test').TestContext, sqs: SQSClient, name: string) {
  const url = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
  t.after(() => sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => {}));
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })))
    .Attributes!.QueueArn!;
  return { url, arn };
}

async function receiveOne(sqs: SQSClient, url: string) {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: url, MessageAttributeNames: ['All'], WaitTimeSeconds: 2 }),
  );
  assert.equal(Messages?.length, 1, `one message on ${url}`);
  return Messages![0];
}

test('SQS/SNS emulator: one SNS publish reaches a raw and an enveloped queue with its attributes', async (t) => {
  const sqs = new SQSClient(clientConfig);
  const sns = new SNSClient(clientConfig);
  t.after(() => {
    sqs.destroy();
    sns.destroy();
  });
  if (
    !(await requireServer(t, 'SQS emulator', () =>
      sqs.send(new CreateQueueCommand({ QueueName: 'hoptrace-probe' })),
    ))
  )
    return;

  const topicArn = (await sns.send(new CreateTopicCommand({ Name: uniqueName('stack-smoke') }))).TopicArn!;
  t.after(() => sns.send(new DeleteTopicCommand({ TopicArn: topicArn })).catch(() => {}));
  const raw = await queue(t, sqs, uniqueName('stack-raw'));
  const enveloped = await queue(t, sqs, uniqueName('stack-env'));
  await sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: raw.arn,
      Attributes: { RawMessageDelivery: 'true' },
    }),
  );
  await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: enveloped.arn }));

  await sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Message: 'order-1',
      MessageAttributes: { 'x-correlation-id': { DataType: 'String', StringValue: 'c-1' } },
    }),
  );

  const rawMessage = await receiveOne(sqs, raw.url);
  assert.equal(rawMessage.Body, 'order-1');
  assert.equal(rawMessage.MessageAttributes?.['x-correlation-id']?.StringValue, 'c-1');
  const envelopedMessage = await receiveOne(sqs, enveloped.url);
  const envelope = JSON.parse(envelopedMessage.Body!) as {
    Message: string;
    MessageAttributes: Record<string, { Type: string; Value: string }>;
  };
  assert.equal(envelope.Message, 'order-1');
  assert.deepEqual(envelope.MessageAttributes['x-correlation-id'], { Type: 'String', Value: 'c-1' });
});

test('moto differs from SQS: 11 message attributes go through, ApproximateAgeOfOldestMessage is refused', async (t) => {
  const sqs = new SQSClient(clientConfig);
  t.after(() => sqs.destroy());
  if (
    !(await requireServer(t, 'SQS emulator', () =>
      sqs.send(new CreateQueueCommand({ QueueName: 'hoptrace-probe' })),
    ))
  )
    return;
  const { url } = await queue(t, sqs, uniqueName('stack-limits'));

  // AWS rejects a message with more than 10 attributes; moto accepts and delivers all 11.
  const attributes = Object.fromEntries(
    Array.from({ length: 11 }, (_, i) => [`a${i}`, { DataType: 'String', StringValue: `v${i}` }]),
  );
  await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageAttributes: attributes }));
  assert.equal(Object.keys((await receiveOne(sqs, url)).MessageAttributes ?? {}).length, 11);

  // On AWS the age of the oldest message is a CloudWatch metric, not a queue attribute; moto refuses it too.
  await assert.rejects(
    sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateAgeOfOldestMessage' as never],
      }),
    ),
    { name: 'InvalidAttributeName' },
  );
});
