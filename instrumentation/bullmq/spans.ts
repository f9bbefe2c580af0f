/**
 * The span objects BullMQ drives. BullMQ's `trace()` calls, in order: `startSpan`, `setAttributes`
 * (queue, operation), `setSpanOnContext`, `getMetadata` (producers), the operation, more attributes,
 * `recordException` on failure, `end`. hoptrace maps:
 *   add / addBulk / addNode (PRODUCER)       -> one publish (`add <queue>`), metadata = its headers
 *   process (CONSUMER)                       -> one delivery (`process <queue>`), outcome at `end`
 *   complete / retry / delay / fail (INTERNAL, inside process) -> the delivery's outcome
 * Every other BullMQ operation (getNextJob, extendLocks, stalled checks, ...) records nothing.
 */
import { type Attributes, type Context, context, type Link } from '@opentelemetry/api';
import {
  ATTR_BULLMQ_JOB_NAME,
  ATTR_HOPTRACE_DELAY_MS,
  ATTR_HOPTRACE_DELIVERY_ATTEMPT,
  ATTR_HOPTRACE_FLOW_CHILDREN,
  ATTR_HOPTRACE_RETRY_DELAY_MS,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_MESSAGE_ID,
  type DeadLetterReason,
} from '../core/semconv.js';
import {
  type Delivery,
  extractIncoming,
  type Instrumentation,
  type PublishOperation,
  shallowCopy,
  startDelivery,
  startPublish,
} from '../transport/index.js';
import { decodeMetadata, encodeMetadata, HEADER_FLOW_NODE, jobNameFromSpanName } from './metadata.js';
import type {
  BullMQAttributes,
  BullMQAttributeValue,
  BullMQConsumeMessage,
  BullMQJobLike,
  BullMQPublishMessage,
  BullMQSpan,
} from './types.js';

/** BullMQ's attribute names hoptrace reads. */
const QUEUE_NAME = 'bullmq.queue.name';
const JOB_ID = 'bullmq.job.id';
const JOB_NAME = 'bullmq.job.name';
const BULK_COUNT = 'bullmq.job.bulk.count';
const ATTEMPTS_MADE = 'bullmq.job.attempts.made';
const STALLED_JOBS = 'bullmq.worker.stalled.jobs';

/** Context keys: the publish a producer context belongs to, a delivery's state, a job's stored metadata. */
export const PUBLISH_KEY = Symbol('hoptrace.bullmq.publish');
export const PROCESS_KEY = Symbol('hoptrace.bullmq.process');
export const METADATA_KEY = Symbol('hoptrace.bullmq.metadata');

export type BullMQInstrumentation = Instrumentation<BullMQPublishMessage, BullMQConsumeMessage>;

export interface SpanHost {
  readonly instr: BullMQInstrumentation;
  /** True once `processor()` wrapped a processor: deliveries then start there, with the job. */
  readonly hooked: boolean;
  /** A worker's stalled-job check moved (or failed) `count` jobs of `queueName`. */
  stalled(queueName: string, count: number): void;
  /** Attempts that run outside any context manager, so their outcomes can find them by job ID. */
  track(span: ProcessSpan, queueName: string, jobId: string): void;
  untrack(span: ProcessSpan, queueName: string, jobId: string): void;
  tracked(queueName: string, jobId: string): ProcessSpan | undefined;
}

/** For BullMQ operations hoptrace does not record: the context passes through unchanged. */
export const NOOP_SPAN: BullMQSpan<Context> = {
  setSpanOnContext: (ctx) => ctx,
  setAttribute() {},
  setAttributes() {},
  addEvent() {},
  recordException() {},
  end() {},
};

/** BullMQ's `moveStalledJobsToWait`: reports the stalled job IDs it found. Records no span. */
export class StalledCheckSpan implements BullMQSpan<Context> {
  private counted = false;
  constructor(
    private readonly host: SpanHost,
    private readonly queueName: string,
  ) {}
  setSpanOnContext(ctx: Context): Context {
    return ctx;
  }
  setAttribute(key: string, value: BullMQAttributeValue): void {
    this.setAttributes({ [key]: value });
  }
  setAttributes(attributes: BullMQAttributes): void {
    const jobs = attributes[STALLED_JOBS];
    // Counted even when empty: the series exists from the first check, so increase() sees the first stall.
    if (this.counted || !Array.isArray(jobs)) return;
    this.counted = true;
    this.host.stalled(this.queueName, jobs.length);
  }
  addEvent(): void {}
  recordException(): void {}
  end(): void {}
}

/** `add`, `addBulk` and `addNode`: a publish whose headers become the job's metadata. */
export class PublishSpan implements BullMQSpan<Context> {
  op: PublishOperation | undefined;
  private queueName: string | undefined;
  private jobId: string | undefined;
  private error: unknown;
  private ended = false;

  constructor(
    private readonly host: SpanHost,
    readonly operation: BullMQPublishMessage['operation'],
    /** The span name after the operation: `queue.job` for add, `queue` otherwise. */
    private readonly rest: string,
  ) {}

  setSpanOnContext(ctx: Context): Context {
    this.start(ctx);
    return this.op ? this.op.context.setValue(PUBLISH_KEY, this) : ctx;
  }

  /** The job's metadata: hoptrace's headers (same names as on every transport). */
  metadata(): string {
    return encodeMetadata(this.op?.headers, this.operation === 'addNode');
  }

  setAttribute(key: string, value: BullMQAttributeValue): void {
    this.setAttributes({ [key]: value });
  }

  setAttributes(attributes: BullMQAttributes): void {
    const queue = attributes[QUEUE_NAME];
    if (typeof queue === 'string' && !this.op) this.queueName = queue;
    const id = attributes[JOB_ID];
    if (typeof id === 'string' && this.operation !== 'addBulk') this.jobId = id;
    const span = this.op?.span;
    if (!span) return;
    const name = attributes[JOB_NAME];
    if (typeof name === 'string') span.setAttribute(ATTR_BULLMQ_JOB_NAME, name);
    const count = attributes[BULK_COUNT];
    if (typeof count === 'number') span.setAttribute(ATTR_MESSAGING_BATCH_MESSAGE_COUNT, count);
  }

  addEvent(): void {}

  recordException(exception: unknown): void {
    this.error = exception ?? new Error('BullMQ operation failed');
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.start(context.active());
    const op = this.op;
    if (!op) return;
    if (this.jobId !== undefined) op.span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, this.jobId);
    op.end(this.error);
  }

  private start(parent: Context): void {
    if (this.op || this.ended) return;
    const queueName = this.queueName ?? this.rest.split('.')[0] ?? this.rest;
    const jobName = this.operation === 'add' ? jobNameFromSpanName(this.rest, queueName) : undefined;
    const attributes: Attributes = {};
    if (jobName !== undefined) attributes[ATTR_BULLMQ_JOB_NAME] = jobName;
    this.op = startPublish(this.host.instr, {
      destination: queueName,
      operationName: 'add',
      headers: {},
      attributes,
      parent,
      message: { queueName, jobName, operation: this.operation },
    });
  }
}

/**
 * A context whose span, baggage and flow are the delivery's once it has started. BullMQ enters the
 * process span's context before the job's delivery can start (the job is known a few lines later),
 * and the processor runs in it.
 */
class ProcessContext implements Context {
  constructor(
    private readonly owner: ProcessSpan,
    private readonly base: Context,
  ) {}
  getValue(key: symbol): unknown {
    if (key === PROCESS_KEY) return this.owner;
    const delivery = this.owner.delivery;
    return delivery ? delivery.context.getValue(key) : this.base.getValue(key);
  }
  setValue(key: symbol, value: unknown): Context {
    return new Layer(this, key, value);
  }
  deleteValue(key: symbol): Context {
    return new Layer(this, key, undefined);
  }
}

class Layer implements Context {
  constructor(
    private readonly base: Context,
    private readonly key: symbol,
    private readonly value: unknown,
  ) {}
  getValue(key: symbol): unknown {
    return key === this.key ? this.value : this.base.getValue(key);
  }
  setValue(key: symbol, value: unknown): Context {
    return new Layer(this, key, value);
  }
  deleteValue(key: symbol): Context {
    return new Layer(this, key, undefined);
  }
}

export type OutcomeOperation = 'complete' | 'retry' | 'delay' | 'fail';

/**
 * `complete`, `retry`, `delay` or `fail` run without a context manager: BullMQ reports the job's ID
 * next, which names the attempt (with a context manager the active context does, and this is not used).
 */
export class OutcomeSpan implements BullMQSpan<Context> {
  private queueName: string;
  private found = false;
  constructor(
    private readonly host: SpanHost,
    private readonly operation: OutcomeOperation,
    rest: string,
  ) {
    this.queueName = rest;
  }
  setSpanOnContext(ctx: Context): Context {
    return ctx;
  }
  setAttribute(key: string, value: BullMQAttributeValue): void {
    this.setAttributes({ [key]: value });
  }
  setAttributes(attributes: BullMQAttributes): void {
    const queue = attributes[QUEUE_NAME];
    if (typeof queue === 'string') this.queueName = queue;
    const id = attributes[JOB_ID];
    if (this.found || typeof id !== 'string') return;
    this.found = true;
    this.host.tracked(this.queueName, id)?.sawOutcome(this.operation);
  }
  addEvent(): void {}
  recordException(): void {}
  end(): void {}
}

/** One processing attempt of one job. */
export class ProcessSpan implements BullMQSpan<Context> {
  delivery: Delivery | undefined;
  /** The job's metadata as stored (kept for `getMetadata` inside the attempt). */
  readonly metadata: string | undefined;
  private queueName: string;
  private base: Context | undefined;
  private job: BullMQJobLike | undefined;
  private jobId: string | undefined;
  /** The metadata's carrier, parsed once (`flowNode`, then `start`); `null` when invalid. */
  private carrier: Record<string, string> | undefined | null;
  private decoded = false;
  /** The job ID this attempt is tracked under (no context manager), for `end`. */
  private trackedId: string | undefined;
  private jobName: string | undefined;
  private attemptsMade: number | undefined;
  private outcome: OutcomeOperation | undefined;
  private error: unknown;
  private handlerError: unknown;
  private ended = false;

  constructor(
    private readonly host: SpanHost,
    rest: string,
    parent: Context | undefined,
  ) {
    this.queueName = rest;
    const metadata = parent?.getValue(METADATA_KEY);
    this.metadata = typeof metadata === 'string' ? metadata : undefined;
  }

  /** True when the job came from a FlowProducer: its processing may link to children. */
  get flowNode(): boolean {
    return this.decode()?.[HEADER_FLOW_NODE] === '1';
  }

  /** Whether a processor call for `job` belongs to this attempt (same job ID once BullMQ reported it). */
  isFor(job: BullMQJobLike | undefined): boolean {
    return this.jobId === undefined || job?.id === undefined || job.id === this.jobId;
  }

  private decode(): Record<string, string> | undefined | null {
    if (!this.decoded) {
      this.carrier = decodeMetadata(this.metadata);
      this.decoded = true;
    }
    return this.carrier;
  }

  setSpanOnContext(ctx: Context): Context {
    this.base = ctx;
    return new ProcessContext(this, ctx);
  }

  setAttribute(key: string, value: BullMQAttributeValue): void {
    this.setAttributes({ [key]: value });
  }

  setAttributes(attributes: BullMQAttributes): void {
    const queue = attributes[QUEUE_NAME];
    if (typeof queue === 'string' && !this.delivery) this.queueName = queue;
    const made = attributes[ATTEMPTS_MADE];
    if (typeof made === 'number') this.attemptsMade = made;
    const id = attributes[JOB_ID];
    const name = attributes[JOB_NAME];
    if (typeof id === 'string') this.jobId = id;
    if (typeof name === 'string') this.jobName = name;
    // Without the processor wrapper this is the last moment before the processor runs.
    if (typeof id === 'string' && !this.host.hooked) this.start();
  }

  addEvent(): void {}

  recordException(exception: unknown): void {
    this.error = exception ?? new Error('job failed');
  }

  /** The processor's own error (the processor wrapper sees it; BullMQ 5 does not report it). */
  noteHandlerError(error: unknown): void {
    this.handlerError = error ?? new Error('job failed');
  }

  /** BullMQ moved the job on (an INTERNAL span started inside this attempt). */
  sawOutcome(operation: OutcomeOperation): void {
    this.outcome = operation;
  }

  /** Starts the delivery; with the job (processor wrapper) attempts, delay and redelivery are exact. */
  start(job?: BullMQJobLike, flow?: { links: Link[]; children: number }): void {
    if (this.delivery || this.ended) return;
    const instr = this.host.instr;
    this.job = job;
    const carrier = this.decode();
    if (carrier === null) instr.metrics.invalidContext(instr.system, 'header_type');
    let incoming = extractIncoming(carrier ?? undefined, instr.correlationHeader);
    const attributes: Attributes = {};
    const jobName = job?.name ?? this.jobName;
    if (typeof jobName === 'string') attributes[ATTR_BULLMQ_JOB_NAME] = jobName;
    let attempt = 1;
    let redelivered = false;
    if (job) {
      const made = numberOr(job.attemptsMade, 0);
      const started = numberOr(job.attemptsStarted, 0);
      attempt = Math.max(started, made + 1);
      // Started more often than it failed: an earlier start stalled (its worker died or hung).
      redelivered = started > made + 1;
      const delay = numberOr(job.opts?.delay, 0);
      const publishedAt = incoming.publishedAt ?? (numberOr(job.timestamp, 0) || undefined);
      // A delayed job is not waiting before it is due: its age counts from then.
      if (delay > 0) attributes[ATTR_HOPTRACE_DELAY_MS] = delay;
      if (publishedAt !== undefined && publishedAt + delay !== incoming.publishedAt) {
        incoming = shallowCopy(incoming);
        incoming.publishedAt = publishedAt + delay;
      }
    }
    if (flow && flow.children > 0) attributes[ATTR_HOPTRACE_FLOW_CHILDREN] = flow.children;
    const jobId = job?.id ?? this.jobId;
    this.delivery = startDelivery(instr, {
      destination: this.queueName,
      incoming,
      messageId: typeof jobId === 'string' ? jobId : undefined,
      attempt,
      redelivered,
      attributes,
      links: flow?.links,
      // The Job only for hooks: a delivery holding it kept each job alive longer (+15% promoted to the old
      // generation in the bench, measured with --trace-gc).
      message: hooked(instr) ? (job ?? { id: jobId, name: jobName }) : NO_JOB,
      settleTimeoutMs: false,
      base: this.base,
    });
    // No context manager carries this attempt to its outcome operations: they find it by job ID.
    if (typeof jobId === 'string' && context.active().getValue(PROCESS_KEY) !== this) {
      this.trackedId = jobId;
      this.host.track(this, this.queueName, jobId);
    }
  }

  end(): void {
    if (this.ended) return;
    this.start();
    this.ended = true;
    if (this.trackedId !== undefined) this.host.untrack(this, this.queueName, this.trackedId);
    const delivery = this.delivery;
    if (!delivery) return;
    const instr = this.host.instr;
    if (!this.job && this.attemptsMade !== undefined && this.attemptsMade > 1) {
      // No processor wrapper: BullMQ reports the attempt only now.
      delivery.span.setAttribute(ATTR_HOPTRACE_DELIVERY_ATTEMPT, this.attemptsMade);
      instr.metrics.consumer(instr.system, this.queueName, undefined).redelivered();
    }
    const error = this.handlerError ?? this.error;
    switch (this.outcome) {
      case 'complete':
        delivery.settle('ack');
        return;
      case 'retry':
      case 'delay': {
        const backoff = this.outcome === 'retry' ? 0 : this.job?.delay;
        if (typeof backoff === 'number') delivery.span.setAttribute(ATTR_HOPTRACE_RETRY_DELAY_MS, backoff);
        delivery.settle('retry', { error: error ?? new Error('job failed') });
        return;
      }
      case 'fail': {
        const reason = deadLetterReason(error, this.job);
        // The failed set is BullMQ's dead-letter queue; nobody consumes from it, so count here.
        delivery.settle('dead_letter', {
          error: error ?? new Error('job failed'),
          deadLetterReason: reason,
          countDeadLetter: true,
        });
        return;
      }
      default:
        // Moved back without an outcome: DelayedError, WaitingChildrenError, a rate limit, a closing worker.
        delivery.settle('requeue');
    }
  }
}

/** `UnrecoverableError` and discarded jobs skip their remaining attempts; otherwise attempts ran out. */
function deadLetterReason(error: unknown, job: BullMQJobLike | undefined): DeadLetterReason {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'UnrecoverableError' || job?.discarded === true) return 'rejected';
  return 'max_attempts';
}

const NO_JOB: BullMQConsumeMessage = Object.freeze({ id: undefined, name: undefined });

function hooked(instr: BullMQInstrumentation): boolean {
  return instr.hooks.consumeHook !== undefined || instr.hooks.settleHook !== undefined;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
