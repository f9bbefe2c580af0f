/**
 * The SQS/SNS demo scenario: orders published to an SNS topic fan out to three SQS queues, `billing`
 * (raw message delivery), `shipping` and `fraud-check` (SNS envelopes). `fraud-check` rejects large
 * orders; SQS redrives them after 2 receives into `fraud-check-dlq`, where `fraud-review` reads them,
 * still in the order's trace and journey. `hoptrace demo --broker sqs` runs it against
 * HOPTRACE_SQS_ENDPOINT (default http://127.0.0.1:34566, the stack's moto).
 */
import { randomBytes } from 'node:crypto';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  PublishCommand,
  SetSubscriptionAttributesCommand,
  SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { instrumentSns, instrumentSqs, receiveAndProcess } from '../../instrumentation/aws/index.js';
import { currentCorrelationId, withCorrelationId } from '../../instrumentation/core/correlation.js';

export interface SqsDemoOptions {
  /** SQS and SNS endpoint; undefined: AWS itself (region and credentials from the environment). */
  endpoint: string | undefined;
  region?: string;
  /** Orders to publish; default 3. Every 3rd order (amount >= 900) fails the fraud check. */
  orders?: number;
  log?: (line: string) => void;
  /** `'link'`: each delivery starts its own trace, linked to the publish (`hoptrace demo --link`). */
  linkMode?: 'parent' | 'link';
  /** Give up after this long; default 60000 ms. */
  timeoutMs?: number;
}

export interface SqsDemoResult {
  topic: string;
  queues: { billing: string; shipping: string; fraudCheck: string; deadLetters: string };
  handled: { billing: number; shipping: number; fraudCheck: number; fraudReview: number };
  /** Correlation IDs of every order, and of the ones redriven to the DLQ. */
  correlationIds: string[];
  deadLettered: string[];
}

const FRAUD_LIMIT = 900;
const MAX_RECEIVES = 2;

export async function runSqsDemo(options: SqsDemoOptions): Promise<SqsDemoResult> {
  const count = options.orders ?? 3;
  const log = options.log ?? (() => undefined);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const suffix = randomBytes(4).toString('hex');
  const config = {
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    ...(options.endpoint
      ? { endpoint: options.endpoint, credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' } }
      : {}),
  };
  const admin = new SQSClient(config);
  const adminSns = new SNSClient(config);
  const sqsFor = (serviceName: string) =>
    instrumentSqs(new SQSClient(config), { serviceName, linkMode: options.linkMode });
  const sns = instrumentSns(new SNSClient(config), { serviceName: 'storefront', linkMode: options.linkMode });

  const names = {
    billing: `hoptrace-demo-billing-${suffix}`,
    shipping: `hoptrace-demo-shipping-${suffix}`,
    fraudCheck: `hoptrace-demo-fraud-check-${suffix}`,
    deadLetters: `hoptrace-demo-fraud-check-dlq-${suffix}`,
  };
  const urls: string[] = [];
  const createQueue = async (name: string, attributes?: Record<string, string>) => {
    const url = (await admin.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes })))
      .QueueUrl as string;
    urls.push(url);
    const arn = (
      await admin.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn as string;
    return { url, arn };
  };
  const topicArn = (await adminSns.send(new CreateTopicCommand({ Name: `hoptrace-demo-orders-${suffix}` })))
    .TopicArn as string;
  try {
    const dlq = await createQueue(names.deadLetters);
    const billing = await createQueue(names.billing);
    const shipping = await createQueue(names.shipping);
    const fraudCheck = await createQueue(names.fraudCheck, {
      VisibilityTimeout: '1',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: MAX_RECEIVES }),
    });
    for (const [queue, raw] of [
      [billing, true],
      [shipping, false],
      [fraudCheck, false],
    ] as const) {
      const sub = await adminSns.send(
        new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queue.arn }),
      );
      if (raw) {
        await adminSns.send(
          new SetSubscriptionAttributesCommand({
            SubscriptionArn: sub.SubscriptionArn,
            AttributeName: 'RawMessageDelivery',
            AttributeValue: 'true',
          }),
        );
      }
    }
    log(
      `Topic ${topicArn} -> ${names.billing} (raw), ${names.shipping}, ${names.fraudCheck} (redrive to ${names.deadLetters} after ${MAX_RECEIVES} receives)`,
    );

    const correlationIds: string[] = [];
    const large = new Set<number>();
    for (let i = 1; i <= count; i++) {
      const correlationId = `order-${suffix}-${i}`;
      const amount = i % 3 === 0 ? 950 : 100 * i;
      if (amount >= FRAUD_LIMIT) large.add(i);
      correlationIds.push(correlationId);
      await withCorrelationId(correlationId, () =>
        sns.send(
          new PublishCommand({
            TopicArn: topicArn,
            Message: JSON.stringify({ order: i, amount }),
            MessageAttributes: { kind: { DataType: 'String', StringValue: 'order.placed' } },
          }),
        ),
      );
    }

    const handled = { billing: 0, shipping: 0, fraudCheck: 0, fraudReview: 0 };
    const deadLettered: string[] = [];
    const orderOf = (m: Message): { order: number; amount: number } => {
      // Enveloped deliveries carry the published message inside the SNS notification.
      const body = JSON.parse(m.Body ?? '{}') as { Message?: string };
      return JSON.parse(typeof body.Message === 'string' ? body.Message : (m.Body ?? '{}'));
    };
    const consumers = [
      { sqs: sqsFor('billing'), url: billing.url, handle: () => void handled.billing++ },
      { sqs: sqsFor('shipping'), url: shipping.url, handle: () => void handled.shipping++ },
      {
        sqs: sqsFor('fraud-check'),
        url: fraudCheck.url,
        handle: (m: Message) => {
          if (orderOf(m).amount >= FRAUD_LIMIT) throw new Error('amount over the fraud limit');
          handled.fraudCheck++;
        },
      },
      {
        sqs: sqsFor('fraud-review'),
        url: dlq.url,
        handle: () => {
          handled.fraudReview++;
          // The dead letter still carries its order's correlation ID.
          deadLettered.push(currentCorrelationId() ?? '?');
        },
      },
    ];
    const done = () =>
      handled.billing === count &&
      handled.shipping === count &&
      handled.fraudCheck === count - large.size &&
      handled.fraudReview === large.size;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out: handled ${JSON.stringify(handled)}`);
      await Promise.all(
        consumers.map((c) =>
          receiveAndProcess(
            c.sqs,
            { QueueUrl: c.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 },
            c.handle,
          ),
        ),
      );
    }
    return {
      topic: topicArn,
      queues: names,
      handled,
      correlationIds,
      deadLettered: deadLettered.sort(),
    };
  } finally {
    for (const url of urls)
      await admin.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
    await adminSns.send(new DeleteTopicCommand({ TopicArn: topicArn })).catch(() => undefined);
    admin.destroy();
    adminSns.destroy();
  }
}

export function formatSqsDemoSummary(result: SqsDemoResult): string {
  const q = result.queues;
  return [
    `Published ${result.correlationIds.length} orders to SNS topic ${result.topic}.`,
    `  ${q.billing}: ${result.handled.billing} handled (raw delivery)`,
    `  ${q.shipping}: ${result.handled.shipping} handled (SNS envelope)`,
    `  ${q.fraudCheck}: ${result.handled.fraudCheck} passed; ${result.deadLettered.length} failed ${MAX_RECEIVES} times and were redriven to ${q.deadLetters}`,
    `  ${q.deadLetters}: ${result.handled.fraudReview} reviewed (${result.deadLettered.join(', ') || 'none'})`,
  ].join('\n');
}
