/**
 * The receive-process-delete loop with traced processing: `processSqsMessage` runs a handler for one
 * received message in its delivery's context (its `process` span, correlation ID and baggage), deletes
 * the message when the handler succeeds, and records the handler's error (outcome `retry`: SQS delivers
 * the message again when its visibility times out, or moves it to the dead-letter queue). The handler's
 * value and error pass through unchanged.
 */
import { context } from '@opentelemetry/api';
import { openDeliveryOf, settleOpen } from './deliveries.js';
import type { SqsMessage } from './types.js';

/** What the helpers need of a client: `send` (an instrumented `SQSClient` or `SQS`). */
export interface SqsSender {
  send(command: never, ...rest: never[]): Promise<unknown>;
}

export interface ProcessOptions {
  /**
   * After a failed handler, make the message visible again at once (`ChangeMessageVisibility` to 0)
   * instead of waiting for its visibility timeout; default false.
   */
  releaseOnError?: boolean;
}

interface SqsCommandClasses {
  DeleteMessageCommand: new (input: object) => never;
  ChangeMessageVisibilityCommand: new (input: object) => never;
  ReceiveMessageCommand: new (input: object) => never;
}

let commands: Promise<SqsCommandClasses> | undefined;
/** Loaded on first use, so `hoptrace/aws` itself loads no AWS SDK package. */
function sqsCommands(): Promise<SqsCommandClasses> {
  commands ??= import('@aws-sdk/client-sqs') as unknown as Promise<SqsCommandClasses>;
  return commands;
}

/** Runs `fn` in the context of `message`'s delivery (a message received through an instrumented client). */
export function withSqsMessageContext<T>(message: object, fn: () => T): T {
  const open = openDeliveryOf(message);
  return open ? context.with(open.delivery.context, fn) : fn();
}

/**
 * Handles one message received from `queueUrl`: runs `handler` in the message's context, then deletes the
 * message. A throwing handler's error is rethrown unchanged and the message is left to SQS (or released,
 * with `releaseOnError`).
 */
export async function processSqsMessage<M extends SqsMessage, T>(
  sqs: SqsSender,
  queueUrl: string,
  message: M,
  handler: (message: M) => T | Promise<T>,
  options: ProcessOptions = {},
): Promise<T> {
  const open = openDeliveryOf(message);
  const sdk = await sqsCommands();
  let value: T;
  try {
    value = await (open ? open.delivery.run(() => handler(message)) : handler(message));
  } catch (error) {
    if (open) settleOpen(open, 'retry', { error });
    if (options.releaseOnError) {
      await sqs
        .send(
          new sdk.ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        )
        .catch(() => undefined);
    }
    throw error;
  }
  try {
    await sqs.send(
      new sdk.DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
    );
  } catch (error) {
    // Not deleted: SQS will deliver it again.
    if (open) settleOpen(open, 'retry', { error });
    throw error;
  }
  // An uninstrumented client's delete settles nothing: settle here (the first settle wins).
  if (open) settleOpen(open, 'ack');
  return value;
}

export interface ReceiveResult {
  received: number;
  processed: number;
  failed: number;
}

/**
 * One turn of the loop: `ReceiveMessage` with `input` (QueueUrl, MaxNumberOfMessages, WaitTimeSeconds...),
 * then `processSqsMessage` for each message, one after another. Handler errors are counted, not thrown.
 */
export async function receiveAndProcess<M extends SqsMessage = SqsMessage>(
  sqs: SqsSender,
  input: { QueueUrl: string; [key: string]: unknown },
  handler: (message: M) => unknown,
  options: ProcessOptions = {},
): Promise<ReceiveResult> {
  const sdk = await sqsCommands();
  const result = (await sqs.send(new sdk.ReceiveMessageCommand(input))) as { Messages?: M[] };
  const messages = result?.Messages ?? [];
  let processed = 0;
  let failed = 0;
  for (const message of messages) {
    try {
      await processSqsMessage(sqs, input.QueueUrl, message, handler, options);
      processed++;
    } catch {
      failed++;
    }
  }
  return { received: messages.length, processed, failed };
}
