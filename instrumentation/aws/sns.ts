/**
 * `instrumentSns(client)`: an AWS SDK v3 SNS client whose `Publish` and `PublishBatch` trace each message
 * (`publish {topic}` producer span) and carry hoptrace's context in message attributes, within the same
 * 10-attribute rule as SQS (attributes.ts; SNS has no trace-header system attribute). Subscribed SQS
 * queues receive the attributes as message attributes (raw delivery) or inside the JSON envelope's
 * `MessageAttributes`; an instrumented SQS consumer reads both. Everything else passes through.
 */
import { MESSAGING_SYSTEM_AWS_SNS } from '../core/semconv.js';
import { createInstrumentation } from '../transport/index.js';
import { endBatch, endEntry, type PreparedEntry, prepareEntry, recordPropagation } from './publish.js';
import type { SnsInstrumentationOptions, SnsPublishMessage } from './types.js';
import { arnNameOf, notPropagatedCounter, operationOf, sendOf, withInput, withTracedSend } from './utils.js';

const INSTRUMENTED = Symbol('hoptrace.aws.sns.instrumented');
const SNS_SHAPE = { bodyKey: 'Message', traceHeader: false } as const;

type Input = Record<string, unknown>;

/** The destination of a publish: the topic's name, a target ARN's last part, or `sms`. */
function targetOf(input: Input): string {
  if (typeof input.TopicArn === 'string') return arnNameOf(input.TopicArn);
  if (typeof input.TargetArn === 'string') return arnNameOf(input.TargetArn);
  return typeof input.PhoneNumber === 'string' ? 'sms' : 'unknown';
}

export function instrumentSns<T extends object>(client: T, options: SnsInstrumentationOptions = {}): T {
  const instr = createInstrumentation<SnsPublishMessage, never>('aws', MESSAGING_SYSTEM_AWS_SNS, options);
  const send = sendOf(client, INSTRUMENTED, instr.guard, 'instrumentSns');
  if (!send) return client;
  const counter = notPropagatedCounter(options.registry);

  const publish = async (command: object, rest: unknown[]): Promise<unknown> => {
    const input = ((command as { input?: Input }).input ?? {}) as Input;
    const destination = targetOf(input);
    const prepared = instr.guard.run(
      'publish',
      () => {
        const p = prepareEntry(instr, destination, 'publish', input, SNS_SHAPE, {
          target: destination,
          input,
        });
        recordPropagation(instr, counter, p);
        return p;
      },
      () => undefined,
    );
    if (!prepared) return send(command, ...rest);
    let result: unknown;
    try {
      result = await send(prepared.entry === input ? command : withInput(command, prepared.entry), ...rest);
    } catch (err) {
      instr.guard.do('publish end', () => endEntry(prepared, undefined, err));
      throw err;
    }
    instr.guard.do('publish end', () => endEntry(prepared, (result as { MessageId?: unknown })?.MessageId));
    return result;
  };

  const publishBatch = async (command: object, rest: unknown[]): Promise<unknown> => {
    const input = ((command as { input?: Input }).input ?? {}) as Input;
    const destination = targetOf(input);
    const entries = Array.isArray(input.PublishBatchRequestEntries)
      ? (input.PublishBatchRequestEntries as Input[])
      : [];
    const prepared = instr.guard.run(
      'publishBatch',
      () =>
        entries.map((entry) => {
          const p: PreparedEntry = prepareEntry(instr, destination, 'publish', entry, SNS_SHAPE, {
            target: destination,
            input: entry,
          });
          recordPropagation(instr, counter, p);
          return p;
        }),
      () => undefined,
    );
    if (!prepared) return send(command, ...rest);
    const changed = prepared.some((p, i) => p.entry !== entries[i]);
    const out = changed
      ? withInput(command, { ...input, PublishBatchRequestEntries: prepared.map((p) => p.entry) })
      : command;
    let result: unknown;
    try {
      result = await send(out, ...rest);
    } catch (err) {
      instr.guard.do('publish end', () => {
        for (const p of prepared) endEntry(p, undefined, err);
      });
      throw err;
    }
    instr.guard.do('publish end', () => endBatch(prepared, entries, result));
    return result;
  };

  const tracedSend = (command: unknown, ...rest: unknown[]): Promise<unknown> => {
    if (typeof rest[rest.length - 1] === 'function') return send(command, ...rest);
    const op = operationOf(command);
    if (op === 'Publish') return publish(command as object, rest);
    if (op === 'PublishBatch') return publishBatch(command as object, rest);
    return send(command, ...rest);
  };

  return withTracedSend(client, INSTRUMENTED, tracedSend);
}
