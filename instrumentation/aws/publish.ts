/**
 * One outgoing SQS or SNS message: the producer span, hoptrace's attributes within the limits, and the
 * count of sends whose context did not fit. Shared by `SendMessage(Batch)` and `Publish(Batch)`.
 */
import type { Counter } from 'prom-client';

import {
  ATTR_HOPTRACE_PROPAGATION,
  ATTR_MESSAGING_MESSAGE_ID,
  HEADER_TRACEPARENT,
  LABEL_MESSAGING_SYSTEM,
  LABEL_REASON,
} from '../core/semconv.js';
import { type Instrumentation, type PublishOperation, startPublish } from '../transport/index.js';
import {
  type AttributeMap,
  AWS_TRACE_HEADER,
  encodeAttributes,
  headersOf,
  MAX_ATTRIBUTES,
  MAX_MESSAGE_BYTES,
  messageBytes,
  type PropagationMode,
  toXrayHeader,
} from './attributes.js';

export interface PreparedEntry {
  op: PublishOperation;
  /** The entry to send: the caller's own object when nothing was added, else a copy. */
  entry: Record<string, unknown>;
  mode: PropagationMode;
  /** Bytes of the caller's entry, and with hoptrace's attributes. */
  bytesBefore: number;
  bytesAfter: number;
  added: Record<string, string>;
}

export interface EntryShape {
  /** `MessageBody` (SQS) or `Message` (SNS). */
  bodyKey: 'MessageBody' | 'Message';
  /** SQS may carry the trace context in the `AWSTraceHeader` system attribute. */
  traceHeader: boolean;
}

export function prepareEntry<TMessage>(
  instr: Instrumentation<TMessage, never>,
  destination: string,
  operationName: string,
  entry: Record<string, unknown>,
  shape: EntryShape,
  message: TMessage,
): PreparedEntry {
  const userAttributes = entry.MessageAttributes as AttributeMap | undefined;
  const op = startPublish(instr, {
    destination,
    operationName,
    headers: headersOf(userAttributes),
    message,
  });
  const added: Record<string, string> = {};
  for (const name of Object.keys(op.headers)) {
    const value = op.headers[name];
    // Any attribute of the caller's, of any type, keeps its name and value.
    if (typeof value === 'string' && !(userAttributes && Object.hasOwn(userAttributes, name)))
      added[name] = value;
  }
  const bytesBefore = messageBytes(entry[shape.bodyKey], userAttributes);
  return finishEntry(op, entry, shape, added, bytesBefore, MAX_MESSAGE_BYTES);
}

/** Encodes `added` into `entry` within `maxBytes`; called again with a smaller budget for a batch over the limit. */
export function finishEntry(
  op: PublishOperation,
  entry: Record<string, unknown>,
  shape: EntryShape,
  added: Record<string, string>,
  bytesBefore: number,
  maxBytes: number,
): PreparedEntry {
  const userAttributes = entry.MessageAttributes as AttributeMap | undefined;
  const encoded = encodeAttributes({ attributes: userAttributes, added, bytes: bytesBefore, maxBytes });
  let mode = encoded.mode;
  let out = entry;
  if (mode !== 'none') {
    out = { ...entry, MessageAttributes: encoded.attributes };
  } else if (shape.traceHeader) {
    const system = entry.MessageSystemAttributes as AttributeMap | undefined;
    const header = toXrayHeader(op.headers[HEADER_TRACEPARENT] as string | undefined);
    if (header !== undefined && !(system && Object.hasOwn(system, AWS_TRACE_HEADER))) {
      out = {
        ...entry,
        MessageSystemAttributes: {
          ...system,
          [AWS_TRACE_HEADER]: { DataType: 'String', StringValue: header },
        },
      };
      mode = 'aws_trace_header';
    }
  }
  return {
    op,
    entry: out,
    mode,
    bytesBefore,
    bytesAfter:
      out === entry ? bytesBefore : messageBytes(out[shape.bodyKey], out.MessageAttributes as AttributeMap),
    added,
  };
}

/** Records where the context went: span attribute, and the counter when it did not fully fit. */
export function recordPropagation(
  instr: { readonly system: string },
  counter: Counter<string>,
  prepared: PreparedEntry,
): void {
  prepared.op.span.setAttribute(ATTR_HOPTRACE_PROPAGATION, prepared.mode);
  if (prepared.mode === 'attributes' || prepared.mode === 'packed') return;
  let reason: string = prepared.mode;
  if (prepared.mode === 'none') {
    const attrs = prepared.entry.MessageAttributes as AttributeMap | undefined;
    reason = attrs && Object.keys(attrs).length >= MAX_ATTRIBUTES ? 'attribute_limit' : 'size_limit';
  }
  counter.inc({ [LABEL_MESSAGING_SYSTEM]: instr.system, [LABEL_REASON]: reason });
}

/** Ends one entry's span with the service's answer. */
export function endEntry(prepared: PreparedEntry, messageId: unknown, error?: unknown): void {
  if (typeof messageId === 'string') prepared.op.span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, messageId);
  prepared.op.end(error);
}

/** An error for a batch entry the service refused (`Failed[].Code`), so the span records its type. */
export function entryError(code: unknown, text: unknown): Error {
  const error = new Error(typeof text === 'string' ? text : 'batch entry failed');
  error.name = typeof code === 'string' && code.length > 0 ? code : 'BatchEntryFailed';
  return error;
}

/** Ends each entry's span from `Successful` / `Failed` (matched by entry `Id`). */
export function endBatch(
  prepared: PreparedEntry[],
  entries: Record<string, unknown>[],
  result: unknown,
): void {
  const r = (result ?? {}) as {
    Successful?: { Id?: string; MessageId?: string }[];
    Failed?: { Id?: string; Code?: string; Message?: string }[];
  };
  const byId = new Map<unknown, PreparedEntry>();
  prepared.forEach((p, i) => {
    byId.set(entries[i]?.Id, p);
  });
  for (const ok of r.Successful ?? []) {
    const p = byId.get(ok.Id);
    if (p) endEntry(p, ok.MessageId);
  }
  for (const failed of r.Failed ?? []) {
    const p = byId.get(failed.Id);
    if (p) endEntry(p, undefined, entryError(failed.Code, failed.Message));
  }
  // Entries the answer did not mention: sent as far as we know.
  for (const p of prepared) p.op.end();
}
