/**
 * `instrumentSqs(client)`: an AWS SDK v3 SQS client (`SQSClient` or the aggregated `SQS`) whose `send`
 * traces messages. Every other property and command passes through; the caller's commands, inputs and
 * attribute maps are never mutated (changed inputs go out as child objects of the caller's command).
 *
 * - `SendMessage`, `SendMessageBatch`: a `send {queue}` producer span per message; context in attributes
 *   (attributes.ts). The service's error passes through unchanged; failed batch entries end their span failed.
 * - `ReceiveMessage`: asks for hoptrace's attributes and the system attributes it reads, hands back only
 *   what the caller asked for; a `receive {queue}` CLIENT span linked to every message's producer, and a
 *   `process {queue}` delivery per message (child of its producer, linked to it only: the collector reads
 *   a consumer span with several links as a batch), settled as deliveries.ts says.
 */
import { type Link, context as otelContext, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  HEADER_BAGGAGE,
  HEADER_ORIGIN_AT,
  HEADER_PUBLISHED_AT,
  HEADER_TRACEPARENT,
  HEADER_TRACESTATE,
  MESSAGING_SYSTEM_AWS_SQS,
  OPERATION_TYPE_RECEIVE,
} from '../core/semconv.js';
import {
  createInstrumentation,
  type DeadLetterInfo,
  errorTypeOf,
  type Instrumentation,
  RULES,
  resolveOption,
  startDelivery,
  warnPolicy,
} from '../transport/index.js';
import {
  type AttributeMap,
  AWS_TRACE_HEADER,
  md5OfAttributes,
  nameMatcher,
  PACKED_ATTRIBUTE,
  readCarrier,
} from './attributes.js';
import { DeadLetterQueues, type DeadLetterSource, deadLetterAttempt } from './dead-letter.js';
import { settleReceipt, track } from './deliveries.js';
import {
  endBatch,
  endEntry,
  finishEntry,
  type PreparedEntry,
  prepareEntry,
  recordPropagation,
} from './publish.js';
import type { SqsConsumeMessage, SqsInstrumentationOptions, SqsMessage, SqsPublishMessage } from './types.js';
import {
  notPropagatedCounter,
  operationOf,
  queueNameOf,
  type Send,
  sendOf,
  withInput,
  withTracedSend,
} from './utils.js';

const INSTRUMENTED = Symbol('hoptrace.aws.instrumented');
const DEFAULT_SETTLE_TIMEOUT_MS = 5 * 60_000;
const MAX_BATCH_BYTES = 262_144;
const SQS_SHAPE = { bodyKey: 'MessageBody', traceHeader: true } as const;
/** System attributes hoptrace reads on receive. */
const SYSTEM_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  AWS_TRACE_HEADER,
  'DeadLetterQueueSourceArn',
];

type Input = Record<string, unknown>;

interface SqsContext {
  instr: Instrumentation<SqsPublishMessage, SqsConsumeMessage>;
  send: Send;
  deadLetters: DeadLetterQueues | undefined;
  settleTimeoutMs: number;
  counter: ReturnType<typeof notPropagatedCounter>;
  /** Message attribute names hoptrace reads. */
  attributeNames: string[];
}

export function instrumentSqs<T extends object>(client: T, options: SqsInstrumentationOptions = {}): T {
  const instr = createInstrumentation<SqsPublishMessage, SqsConsumeMessage>(
    'aws',
    MESSAGING_SYSTEM_AWS_SQS,
    options,
  );
  const send = sendOf(client, INSTRUMENTED, instr.guard, 'instrumentSqs');
  if (!send) return client;
  const settleTimeoutMs = resolveOption(
    warnPolicy(instr.guard),
    'settleTimeoutMs',
    options.settleTimeoutMs,
    RULES.positiveNumber,
    DEFAULT_SETTLE_TIMEOUT_MS,
  );
  const ctx: SqsContext = {
    instr,
    send,
    deadLetters:
      options.detectDeadLetterQueues === false ? undefined : new DeadLetterQueues(send, instr.guard),
    settleTimeoutMs,
    counter: notPropagatedCounter(options.registry),
    attributeNames: [
      HEADER_TRACEPARENT,
      HEADER_TRACESTATE,
      HEADER_BAGGAGE,
      instr.correlationHeader,
      HEADER_PUBLISHED_AT,
      HEADER_ORIGIN_AT,
      PACKED_ATTRIBUTE,
    ],
  };

  const tracedSend = (command: unknown, ...rest: unknown[]): Promise<unknown> => {
    // Callback style is passed through untraced.
    if (typeof rest[rest.length - 1] === 'function') return send(command, ...rest);
    switch (operationOf(command)) {
      case 'SendMessage':
        return sendMessage(ctx, command as object, rest);
      case 'SendMessageBatch':
        return sendMessageBatch(ctx, command as object, rest);
      case 'ReceiveMessage':
        return receiveMessage(ctx, command as object, rest);
      case 'DeleteMessage':
        return settleAfter(ctx, command as object, rest, 'ack', false);
      case 'DeleteMessageBatch':
        return settleAfter(ctx, command as object, rest, 'ack', true);
      case 'ChangeMessageVisibility':
        return settleAfter(ctx, command as object, rest, 'requeue', false);
      case 'ChangeMessageVisibilityBatch':
        return settleAfter(ctx, command as object, rest, 'requeue', true);
      default:
        return send(command, ...rest);
    }
  };

  return withTracedSend(client, INSTRUMENTED, tracedSend);
}

function inputOf(command: object): Input {
  const input = (command as { input?: unknown }).input;
  return input && typeof input === 'object' ? (input as Input) : {};
}

async function sendMessage(ctx: SqsContext, command: object, rest: unknown[]): Promise<unknown> {
  const input = inputOf(command);
  const queueUrl = String(input.QueueUrl ?? '');
  let prepared: PreparedEntry | undefined;
  try {
    prepared = prepareEntry(ctx.instr, queueNameOf(queueUrl), 'send', input, SQS_SHAPE, { queueUrl, input });
    recordPropagation(ctx.instr, ctx.counter, prepared);
  } catch (err) {
    ctx.instr.guard.report('sendMessage', err);
  }
  if (!prepared) return ctx.send(command, ...rest);
  const p = prepared;
  let result: unknown;
  try {
    result = await ctx.send(p.entry === input ? command : withInput(command, p.entry), ...rest);
  } catch (err) {
    ctx.instr.guard.do('send end', () => endEntry(p, undefined, err));
    throw err;
  }
  ctx.instr.guard.do('send end', () => endEntry(p, (result as { MessageId?: unknown })?.MessageId));
  return p.entry === input
    ? result
    : ctx.instr.guard.run(
        'digests',
        () => callerDigests(result, input),
        () => result,
      );
}

/**
 * The send answer as the caller's own entry would have had it: `MD5OfMessageAttributes` of the caller's
 * attributes (SQS digests what it stored, hoptrace's included), no `MD5OfMessageSystemAttributes` for an
 * `AWSTraceHeader` the caller did not set. Returns a copy.
 */
export function callerDigests<R>(result: R, entry: Input): R {
  if (!result || typeof result !== 'object') return result;
  const out = { ...result } as Record<string, unknown>;
  const attributes = entry.MessageAttributes as AttributeMap | undefined;
  if (attributes && Object.keys(attributes).length > 0)
    out.MD5OfMessageAttributes = md5OfAttributes(attributes);
  else delete out.MD5OfMessageAttributes;
  const system = entry.MessageSystemAttributes as AttributeMap | undefined;
  if (system && Object.keys(system).length > 0) out.MD5OfMessageSystemAttributes = md5OfAttributes(system);
  else delete out.MD5OfMessageSystemAttributes;
  return out as R;
}

async function sendMessageBatch(ctx: SqsContext, command: object, rest: unknown[]): Promise<unknown> {
  const input = inputOf(command);
  const queueUrl = String(input.QueueUrl ?? '');
  const entries = Array.isArray(input.Entries) ? (input.Entries as Input[]) : [];
  const prepared = ctx.instr.guard.run(
    'sendMessageBatch',
    () => {
      const destination = queueNameOf(queueUrl);
      let list = entries.map((entry) =>
        prepareEntry(ctx.instr, destination, 'send', entry, SQS_SHAPE, { queueUrl, input: entry }),
      );
      const before = list.reduce((n, p) => n + p.bytesBefore, 0);
      const after = list.reduce((n, p) => n + p.bytesAfter, 0);
      // The batch as a whole has the size limit too: when ours would cross it, fall back to the trace header.
      if (after > MAX_BATCH_BYTES && before <= MAX_BATCH_BYTES) {
        list = list.map((p, i) =>
          finishEntry(p.op, entries[i] as Input, SQS_SHAPE, p.added, p.bytesBefore, -1),
        );
      }
      for (const p of list) recordPropagation(ctx.instr, ctx.counter, p);
      return list;
    },
    () => undefined,
  );
  if (!prepared) return ctx.send(command, ...rest);
  const changed = prepared.some((p, i) => p.entry !== entries[i]);
  const out = changed ? withInput(command, { ...input, Entries: prepared.map((p) => p.entry) }) : command;
  let result: unknown;
  try {
    result = await ctx.send(out, ...rest);
  } catch (err) {
    ctx.instr.guard.do('send end', () => {
      for (const p of prepared) endEntry(p, undefined, err);
    });
    throw err;
  }
  ctx.instr.guard.do('send end', () => endBatch(prepared, entries, result));
  if (!changed) return result;
  return ctx.instr.guard.run(
    'digests',
    () => {
      const r = result as { Successful?: Input[] };
      if (!Array.isArray(r?.Successful)) return result;
      const byId = new Map(entries.map((e, i) => [e.Id, i]));
      const successful = r.Successful.map((ok) => {
        const i = byId.get(ok.Id);
        return i === undefined || prepared[i]?.entry === entries[i]
          ? ok
          : callerDigests(ok, entries[i] as Input);
      });
      return { ...r, Successful: successful };
    },
    () => result,
  );
}

function withNames(requested: unknown, extra: readonly string[]): string[] | undefined {
  const list = Array.isArray(requested) ? (requested as string[]) : [];
  if (list.includes('All') || list.includes('.*')) return undefined;
  const out = [...list];
  for (const name of extra) if (!out.includes(name)) out.push(name);
  return out;
}

/** The message as the caller asked for it: attributes it did not request removed (a copy). */
function asRequested(
  message: SqsMessage,
  wantAttribute: (name: string) => boolean,
  wantSystem: (name: string) => boolean,
): SqsMessage {
  const copy: SqsMessage = { ...message };
  if (message.MessageAttributes) {
    const kept: AttributeMap = {};
    let any = false;
    for (const name of Object.keys(message.MessageAttributes)) {
      if (!wantAttribute(name)) continue;
      kept[name] = message.MessageAttributes[name] as AttributeMap[string];
      any = true;
    }
    if (Object.keys(kept).length === Object.keys(message.MessageAttributes).length) {
      // Nothing removed: the service's own object and digest.
    } else if (any) {
      copy.MessageAttributes = kept;
      if (copy.MD5OfMessageAttributes !== undefined) copy.MD5OfMessageAttributes = md5OfAttributes(kept);
    } else {
      delete copy.MessageAttributes;
      delete copy.MD5OfMessageAttributes;
    }
  }
  if (message.Attributes) {
    const kept: Record<string, string> = {};
    let any = false;
    for (const name of Object.keys(message.Attributes)) {
      if (!wantSystem(name)) continue;
      kept[name] = message.Attributes[name] as string;
      any = true;
    }
    if (any) copy.Attributes = kept;
    else delete copy.Attributes;
  }
  return copy;
}

async function receiveMessage(ctx: SqsContext, command: object, rest: unknown[]): Promise<unknown> {
  const { instr } = ctx;
  const input = inputOf(command);
  const queueUrl = String(input.QueueUrl ?? '');
  const destination = queueNameOf(queueUrl);
  const prepared = instr.guard.run(
    'receive',
    () => {
      const attributeNames = withNames(input.MessageAttributeNames, ctx.attributeNames);
      const systemNames = withNames(
        [...asArray(input.AttributeNames), ...asArray(input.MessageSystemAttributeNames)],
        SYSTEM_ATTRIBUTES,
      );
      const out: Input = { ...input };
      if (attributeNames) out.MessageAttributeNames = attributeNames;
      if (systemNames) out.MessageSystemAttributeNames = systemNames;
      // The receive span is made once the answer is known (with this start time), so the empty polls of
      // a long-polling consumer leave no spans.
      const startTime = Date.now();
      const parent = otelContext.active();
      const span = (links: Link[], count: number) =>
        instr.tracer.startSpan(
          `receive ${destination}`,
          {
            kind: SpanKind.CLIENT,
            startTime,
            links,
            attributes: {
              [ATTR_MESSAGING_SYSTEM]: instr.system,
              [ATTR_MESSAGING_DESTINATION_NAME]: destination,
              [ATTR_MESSAGING_OPERATION_TYPE]: OPERATION_TYPE_RECEIVE,
              [ATTR_MESSAGING_OPERATION_NAME]: 'receive',
              [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: count,
            },
          },
          parent,
        );
      return {
        command: withInput(command, out),
        span,
        wantAttribute: nameMatcher(asArray(input.MessageAttributeNames)),
        wantSystem: nameMatcher([
          ...asArray(input.AttributeNames),
          ...asArray(input.MessageSystemAttributeNames),
        ]),
      };
    },
    () => undefined,
  );
  if (!prepared) return ctx.send(command, ...rest);
  let result: { Messages?: SqsMessage[] } & Record<string, unknown>;
  try {
    result = (await ctx.send(prepared.command, ...rest)) as typeof result;
  } catch (err) {
    instr.guard.do('receive end', () => {
      const span = prepared.span([], 0);
      span.setAttribute(ATTR_ERROR_TYPE, errorTypeOf(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      span.end();
    });
    throw err;
  }
  const messages = Array.isArray(result?.Messages) ? result.Messages : undefined;
  if (!messages || messages.length === 0) return result;
  let sources: DeadLetterSource[] = [];
  if (ctx.deadLetters) {
    try {
      sources = await ctx.deadLetters.sourcesOf(queueUrl);
    } catch (err) {
      instr.guard.report('dead-letter lookup', err);
    }
  }
  const out = messages.map((m) => asRequestedSafe(ctx, m, prepared.wantAttribute, prepared.wantSystem));
  instr.guard.do('deliveries', () => {
    const links: Link[] = [];
    messages.forEach((raw, i) => {
      const delivered = out[i] as SqsMessage;
      const link = startMessageDelivery(ctx, queueUrl, destination, raw, delivered, sources);
      if (link) links.push(link);
    });
    prepared.span(links, messages.length).end();
  });
  return { ...result, Messages: out };
}

function asArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function asRequestedSafe(
  ctx: SqsContext,
  message: SqsMessage,
  wantAttribute: (name: string) => boolean,
  wantSystem: (name: string) => boolean,
): SqsMessage {
  return ctx.instr.guard.run(
    'receive filter',
    () => asRequested(message, wantAttribute, wantSystem),
    () => message,
  );
}

/** Starts one received message's `process` delivery; returns the link to its producer for the receive span. */
function startMessageDelivery(
  ctx: SqsContext,
  queueUrl: string,
  destination: string,
  raw: SqsMessage,
  delivered: SqsMessage,
  sources: readonly DeadLetterSource[],
): Link | undefined {
  const { instr } = ctx;
  const system = raw.Attributes ?? {};
  const carrier = readCarrier(raw.MessageAttributes, system, raw.Body);
  if (carrier.packedInvalid) instr.metrics.invalidContext(instr.system, 'header_type');
  const receiveCount = Number(system.ApproximateReceiveCount);
  let attempt = Number.isInteger(receiveCount) && receiveCount > 0 ? receiveCount : 1;
  let deadLetter: DeadLetterInfo | undefined;
  const sourceArn = system.DeadLetterQueueSourceArn;
  if (sources.length > 0 || typeof sourceArn === 'string') {
    const dl = deadLetterAttempt(attempt, sources);
    attempt = dl.attempt;
    deadLetter = {
      reason: 'delivery_limit',
      source:
        typeof sourceArn === 'string' ? sourceArn.slice(sourceArn.lastIndexOf(':') + 1) : sources[0]?.name,
      count: dl.first,
    };
  }
  const sent = Number(system.SentTimestamp);
  const delivery = startDelivery(instr, {
    destination,
    headers: carrier.headers,
    messageId: typeof raw.MessageId === 'string' ? raw.MessageId : undefined,
    attempt,
    redelivered: attempt > 1,
    publishedAtFallback:
      carrier.envelope?.timestamp ?? (Number.isFinite(sent) && sent > 0 ? sent : undefined),
    deadLetter,
    message: { queueUrl, message: delivered },
    settleTimeoutMs: false,
  });
  if (typeof raw.ReceiptHandle === 'string') {
    track(delivered, {
      delivery,
      receiptHandle: raw.ReceiptHandle,
      messageId: typeof raw.MessageId === 'string' ? raw.MessageId : undefined,
      queueUrl,
      expiresAt: Date.now() + ctx.settleTimeoutMs,
    });
  } else {
    delivery.abandon('no receipt handle');
  }
  const remote = delivery.incoming.remote;
  return remote ? { context: remote } : undefined;
}

/**
 * `DeleteMessage(Batch)` settles `ack`; `ChangeMessageVisibility(Batch)` to 0 settles `requeue` (a longer
 * timeout is an extension and settles nothing). Only entries the service accepted settle.
 */
async function settleAfter(
  ctx: SqsContext,
  command: object,
  rest: unknown[],
  outcome: 'ack' | 'requeue',
  batch: boolean,
): Promise<unknown> {
  const result = await ctx.send(command, ...rest);
  ctx.instr.guard.do('settle', () => {
    const input = inputOf(command);
    const settles = (entry: Input) => outcome === 'ack' || Number(entry.VisibilityTimeout) === 0;
    if (!batch) {
      if (settles(input)) settleReceipt(input.ReceiptHandle, outcome);
      return;
    }
    const entries = Array.isArray(input.Entries) ? (input.Entries as Input[]) : [];
    const ok = new Set(((result as { Successful?: { Id?: string }[] })?.Successful ?? []).map((s) => s.Id));
    for (const entry of entries)
      if (ok.has(entry.Id as string) && settles(entry)) settleReceipt(entry.ReceiptHandle, outcome);
  });
  return result;
}
