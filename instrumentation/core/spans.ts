/** Producer and consumer spans per the OTel messaging semantic conventions, written once for every transport. */
import {
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { HoptraceError } from './errors.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  FAILED_OUTCOMES,
  type MessagingSystem,
  OPERATION_TYPE_PROCESS,
  OPERATION_TYPE_RECEIVE,
  OPERATION_TYPE_SEND,
  type Outcome,
} from './semconv.js';
import type { LinkMode } from './types.js';

export interface SpanStart {
  system: MessagingSystem;
  destination: string;
  /** `publish` (RabbitMQ) or `send` (Kafka, bus) for producers; `process` or `receive` for consumers. */
  operationName: string;
  attributes?: Attributes;
}

/** Destinations remembered per operation for span names; beyond this the cache starts over (unbounded topics). */
const MAX_CACHED_NAMES = 1_000;
const spanNames = new Map<string, Map<string, string>>();

/** `<operation> <destination>`, the same string for every span of a destination rather than one per span. */
export function spanName(operationName: string, destination: string): string {
  let names = spanNames.get(operationName);
  if (!names) {
    names = new Map();
    spanNames.set(operationName, names);
  }
  let name = names.get(destination);
  if (name === undefined) {
    if (names.size >= MAX_CACHED_NAMES) names.clear();
    name = `${operationName} ${destination}`;
    names.set(destination, name);
  }
  return name;
}

export function startProducerSpan(tracer: Tracer, start: SpanStart, parent: Context): Span {
  return tracer.startSpan(
    spanName(start.operationName, start.destination),
    { kind: SpanKind.PRODUCER, attributes: messagingAttributes(start, OPERATION_TYPE_SEND) },
    parent,
  );
}

/** The four messaging attributes every span starts with, then the caller's (a spread only when there are any). */
function messagingAttributes(start: SpanStart, operationType: string): Attributes {
  const attributes: Attributes = {
    [ATTR_MESSAGING_SYSTEM]: start.system,
    [ATTR_MESSAGING_DESTINATION_NAME]: start.destination,
    [ATTR_MESSAGING_OPERATION_TYPE]: operationType,
    [ATTR_MESSAGING_OPERATION_NAME]: start.operationName,
  };
  return start.attributes ? { ...attributes, ...start.attributes } : attributes;
}

export interface ConsumerSpanStart extends SpanStart {
  /** The producer's span context, when the message carried a valid one. */
  remote: SpanContext | Span | undefined;
  linkMode: LinkMode;
  /** Extra links (e.g. every message of a batch). */
  links?: Link[];
}

/**
 * A consumer span. `'parent'` mode: child of the producer's span and linked to it, so Jaeger draws the
 * tree and link-aware tools see the hop. `'link'` mode: a new trace linked to the producer.
 */
export function startConsumerSpan(tracer: Tracer, start: ConsumerSpanStart, base: Context): Span {
  const remoteContext =
    start.remote && ('spanContext' in start.remote ? start.remote.spanContext() : start.remote);
  const links: Link[] = remoteContext ? [{ context: remoteContext }] : [];
  if (start.links) links.push(...start.links);
  let parent: Context;
  if (start.linkMode === 'parent' && start.remote) {
    if (!('spanContext' in start.remote)) parent = trace.setSpanContext(base, start.remote);
    // In process (the bus) the base context usually holds the producer span already.
    else parent = trace.getSpan(base) === start.remote ? base : trace.setSpan(base, start.remote);
  } else {
    parent = trace.deleteSpan(base);
  }
  const operationType = start.operationName === 'receive' ? OPERATION_TYPE_RECEIVE : OPERATION_TYPE_PROCESS;
  return tracer.startSpan(
    spanName(start.operationName, start.destination),
    {
      kind: SpanKind.CONSUMER,
      links,
      root: start.linkMode === 'link' || !start.remote,
      attributes: messagingAttributes(start, operationType),
    },
    parent,
  );
}

const MAX_ERROR_TYPE_LENGTH = 64;

/**
 * `error.type` for a thrown value: a HoptraceError's `errorType`, else its `code` when it has a string one (e.g. ECONNRESET), else its class
 * name, else `_OTHER`. Bounded in length; metrics bound the number of distinct values further.
 */
export function errorTypeOf(error: unknown): string {
  if (error === null || error === undefined) return '_OTHER';
  if (typeof error === 'object') {
    if (error instanceof HoptraceError && error.errorType)
      return error.errorType.slice(0, MAX_ERROR_TYPE_LENGTH);
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) return code.slice(0, MAX_ERROR_TYPE_LENGTH);
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name.length > 0 && name !== 'Error')
      return name.slice(0, MAX_ERROR_TYPE_LENGTH);
    const ctor = (error as object).constructor?.name;
    if (ctor && ctor !== 'Object') return ctor.slice(0, MAX_ERROR_TYPE_LENGTH);
  }
  return typeof error === 'string' ? 'string' : '_OTHER';
}

/** Marks the span failed with `error` (status, `error.type`, exception event). Returns the error type. */
export function recordError(span: Span, error: unknown): string {
  const errorType = errorTypeOf(error);
  span.setAttribute(ATTR_ERROR_TYPE, errorType);
  if (error instanceof Error) span.recordException(error);
  else span.recordException({ name: errorType, message: String(error) });
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
  return errorType;
}

/**
 * The one status rule for a settled delivery (every transport, single and batch): a failed outcome
 * (`FAILED_OUTCOMES`) is status ERROR with `error.type`, from the error when there is one, else the
 * outcome itself (a broker-side dead letter after a plain nack has no error object). Returns the
 * error's type, or '' when no error object was given (metrics label only real errors).
 */
export function recordOutcomeStatus(span: Span, outcome: Outcome, error: unknown): string {
  if (error !== undefined) return recordError(span, error);
  if (FAILED_OUTCOMES.has(outcome)) {
    span.setAttribute(ATTR_ERROR_TYPE, outcome);
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
  }
  return '';
}
