/** Fixtures for the SQS/SNS tests on the emulator (moto): clients, unique queues and topics, span and metric readers. */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  SetSubscriptionAttributesCommand,
  SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { Linker } from '../../../collector/linker/linker.js';
import { CollectorMetrics } from '../../../collector/metrics.js';
import { fromReadableSpan } from '../../../collector/otlp/readable-span.js';
import { instrumentSns, instrumentSqs } from '../../../instrumentation/aws/index.js';
import type { SqsInstrumentationOptions } from '../../../instrumentation/aws/types.js';
import { createOpenMetricsRegistry, type MetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { createTestTracing, type TestTracing } from '../../helpers/tracing.js';

export const sqsEndpoint = (): string => stackEndpoint('HOPTRACE_SQS_ENDPOINT');

export const clientConfig = () => ({
  endpoint: sqsEndpoint(),
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

export function unique(prefix: string): string {
  return `hoptrace-${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface AwsFixture {
  tracing: TestTracing;
  registry: MetricsRegistry;
  /** Uninstrumented clients (setup, and the differential test's plain side). */
  rawSqs: SQSClient;
  rawSns: SNSClient;
  sqs: SQSClient;
  sns: SNSClient;
  createQueue(name: string, attributes?: Record<string, string>): Promise<{ url: string; arn: string }>;
  createTopic(name: string): Promise<string>;
  subscribe(topicArn: string, queueArn: string, raw: boolean): Promise<void>;
  close(): Promise<void>;
}

export async function aws(
  t: TestContext,
  options: SqsInstrumentationOptions = {},
): Promise<AwsFixture | undefined> {
  const rawSqs = new SQSClient(clientConfig());
  const rawSns = new SNSClient(clientConfig());
  const reachable = await requireServer(t, 'the SQS/SNS emulator (moto)', () =>
    rawSqs.send(new ListQueuesCommand({ MaxResults: 1 })),
  );
  if (!reachable) return undefined;
  const tracing = createTestTracing();
  const registry = createOpenMetricsRegistry();
  const queues: string[] = [];
  const topics: string[] = [];
  return {
    tracing,
    registry,
    rawSqs,
    rawSns,
    sqs: instrumentSqs(new SQSClient(clientConfig()), {
      tracerProvider: tracing.provider,
      registry,
      ...options,
    }),
    sns: instrumentSns(new SNSClient(clientConfig()), { tracerProvider: tracing.provider, registry }),
    async createQueue(name, attributes) {
      const created = await rawSqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
      const url = created.QueueUrl as string;
      queues.push(url);
      const attrs = await rawSqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
      );
      return { url, arn: attrs.Attributes?.QueueArn as string };
    },
    async createTopic(name) {
      const topic = await rawSns.send(new CreateTopicCommand({ Name: name }));
      topics.push(topic.TopicArn as string);
      return topic.TopicArn as string;
    },
    async subscribe(topicArn, queueArn, raw) {
      const sub = await rawSns.send(
        new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }),
      );
      if (raw) {
        await rawSns.send(
          new SetSubscriptionAttributesCommand({
            SubscriptionArn: sub.SubscriptionArn,
            AttributeName: 'RawMessageDelivery',
            AttributeValue: 'true',
          }),
        );
      }
    },
    async close() {
      for (const url of queues)
        await rawSqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
      for (const arn of topics)
        await rawSns.send(new DeleteTopicCommand({ TopicArn: arn })).catch(() => undefined);
    },
  };
}

/** Sets a queue's redrive policy to `dlqArn` after `maxReceiveCount` receives. */
export async function setRedrive(sqs: SQSClient, queueUrl: string, dlqArn: string, maxReceiveCount: number) {
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queueUrl,
      Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }) },
    }),
  );
}

export { metricValue } from '../../helpers/metrics.js';

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The spans through the collector's linker, in process: journeys and the fan-out histogram. */
export function link(spans: ReadableSpan[]): { linker: Linker; metrics: CollectorMetrics } {
  const metrics = new CollectorMetrics({ maxLabelValues: 100 });
  const linker = new Linker({ metrics });
  linker.ingest(spans.map(fromReadableSpan));
  linker.finalize();
  return { linker, metrics };
}
