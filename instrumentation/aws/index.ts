/**
 * `hoptrace/aws`: tracing and metrics for AWS SQS and SNS (AWS SDK v3 clients).
 *
 * ```ts
 * const sqs = instrumentSqs(new SQSClient({ region }));
 * const sns = instrumentSns(new SNSClient({ region }));
 * await processSqsMessage(sqs, queueUrl, message, handle); // run, then delete; or use sqs-consumer
 * ```
 * Loads no AWS SDK package itself: the helpers import `@aws-sdk/client-sqs` on first use.
 */

export {
  AWS_TRACE_HEADER,
  fromXrayHeader,
  MAX_ATTRIBUTES,
  PACKED_ATTRIBUTE,
  toXrayHeader,
} from './attributes.js';
export {
  SnsInstrumentation,
  type SnsInstrumentationConfig,
  SqsInstrumentation,
  type SqsInstrumentationConfig,
} from './auto.js';
export {
  type ProcessOptions,
  processSqsMessage,
  type ReceiveResult,
  receiveAndProcess,
  type SqsSender,
  withSqsMessageContext,
} from './process.js';
export { instrumentSns } from './sns.js';
export { instrumentSqs } from './sqs.js';
export type {
  AttributeMap,
  AttributeValue,
  PropagationMode,
  SnsInstrumentationOptions,
  SnsPublishInfo,
  SnsPublishMessage,
  SqsConsumeInfo,
  SqsConsumeMessage,
  SqsInstrumentationOptions,
  SqsMessage,
  SqsPublishInfo,
  SqsPublishMessage,
  SqsSettleInfo,
} from './types.js';
