/**
 * Type test (compiled by `npm run build`, never run): `instrumentSqs` / `instrumentSns` hand back exactly
 * the SDK client types they were given, and the helpers take the SDK's own `Message`.
 */
import { type SNS, SNSClient } from '@aws-sdk/client-sns';
import { type Message, type SQS, SQSClient } from '@aws-sdk/client-sqs';
import {
  instrumentSns,
  instrumentSqs,
  processSqsMessage,
  receiveAndProcess,
  type SqsConsumeInfo,
  type SqsInstrumentationOptions,
  type SqsPublishInfo,
  withSqsMessageContext,
} from '../../instrumentation/aws/index.js';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_proof?: T): void {}

declare const aggregatedSqs: SQS;
declare const aggregatedSns: SNS;
declare const message: Message;

const options: SqsInstrumentationOptions = {
  serviceName: 'billing',
  detectDeadLetterQueues: false,
  settleTimeoutMs: 60_000,
  hooks: {
    publishHook: (span, info: SqsPublishInfo) => span.setAttribute('queue', info.message.queueUrl),
    consumeHook: (_span, info: SqsConsumeInfo) => void info.message.message.MessageId,
  },
};

const sqs = instrumentSqs(new SQSClient({}), options);
expectType<Equals<typeof sqs, SQSClient>>();
expectType<Equals<ReturnType<typeof instrumentSqs<SQS>>, SQS>>();
expectType<Equals<ReturnType<typeof instrumentSns<SNSClient>>, SNSClient>>();
void instrumentSqs(aggregatedSqs);
void instrumentSns(aggregatedSns);
void instrumentSns(new SNSClient({}), { serviceName: 'orders' });

// The handler gets the SDK's Message type back; its value passes through.
const handled: Promise<number> = processSqsMessage(sqs, 'url', message, (m: Message) => m.Body?.length ?? 0);
void handled;
void receiveAndProcess<Message>(sqs, { QueueUrl: 'url' }, (m) => m.ReceiptHandle);
const inContext: string = withSqsMessageContext(message, () => 'x');
void inContext;
