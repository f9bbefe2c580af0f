/**
 * `BullMQTelemetry`: an implementation of BullMQ's own `telemetry` option (the interface `bullmq-otel`
 * implements) that records hoptrace's spans and metrics and stores hoptrace's headers in each job's
 * telemetry metadata. Adoption is one option on each Queue, Worker and FlowProducer.
 *
 * Two extra hooks, for what the interface cannot carry (docs/bullmq.md):
 * - `processor(fn)` hands the Job to hoptrace before the processor runs: exact attempt numbers, stalled
 *   redeliveries, a delayed job's due time, the backoff delay, flow parents' links to their children.
 * - `flow(tree)` makes BullMQ store the context on every node of a flow (it skips nodes without `opts`).
 */
import { type Context, context, type Link, ROOT_CONTEXT } from '@opentelemetry/api';
import { Counter } from 'prom-client';
import {
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  MESSAGING_SYSTEM_BULLMQ,
  METRIC_STALLED_JOBS,
} from '../core/semconv.js';
import {
  createInstrumentation,
  type Guard,
  injectContext,
  isPromiseLike,
  type MetricsRegistry,
  metricsRegistry,
} from '../transport/index.js';
import { childLinks, copyFlow } from './flow.js';
import { encodeMetadata } from './metadata.js';
import {
  type BullMQInstrumentation,
  METADATA_KEY,
  NOOP_SPAN,
  OutcomeSpan,
  PROCESS_KEY,
  ProcessSpan,
  PUBLISH_KEY,
  PublishSpan,
  type SpanHost,
  StalledCheckSpan,
} from './spans.js';
import type {
  BullMQContextManager,
  BullMQFlowNode,
  BullMQJobLike,
  BullMQSpan,
  BullMQTelemetryOptions,
  BullMQTracer,
} from './types.js';

/** BullMQ's SpanKind enum values. */
const KIND_PRODUCER = 3;
const KIND_CONSUMER = 4;

const PUBLISH_OPERATIONS = new Set(['add', 'addBulk', 'addNode']);
const OUTCOME_OPERATIONS = new Set(['complete', 'retry', 'delay', 'fail']);

export class BullMQTelemetry implements SpanHost {
  readonly tracer: BullMQTracer<Context>;
  readonly contextManager: BullMQContextManager<Context>;
  /** @internal */
  readonly instr: BullMQInstrumentation;
  private wrapped = false;
  /** The attempt whose `with` is on the stack: BullMQ calls the processor synchronously inside it. */
  private entering: ProcessSpan | undefined;
  /**
   * Attempts running without an OTel context manager, by queue and job ID: their outcome operations
   * (which run after awaits) find them here. With a context manager the active context has them.
   */
  private readonly untracked = new Map<string, Map<string, ProcessSpan>>();
  private readonly stalledJobs: Counter<string> | undefined;

  constructor(options?: BullMQTelemetryOptions) {
    this.instr = createInstrumentation('bullmq', MESSAGING_SYSTEM_BULLMQ, options);
    const guard = this.instr.guard;
    this.stalledJobs = guard.run(
      'stalled jobs metric',
      () => stalledJobsCounter(options?.registry),
      () => undefined,
    );
    // The hot path: no closures per call, failures caught here (never thrown into BullMQ).
    this.tracer = {
      startSpan: (name, options, ctx) => {
        try {
          return this.startSpan(name, options?.kind, ctx);
        } catch (err) {
          guard.report('startSpan', err);
          return NOOP_SPAN;
        }
      },
    };
    this.contextManager = {
      with: (ctx, fn) => {
        if (!isContext(ctx)) return fn();
        const attempt = ctx.getValue(PROCESS_KEY);
        if (!(attempt instanceof ProcessSpan)) return context.with(ctx, fn);
        // hoptrace's own bookkeeping must not depend on an OTel context manager being registered.
        const previous = this.entering;
        this.entering = attempt;
        try {
          return context.with(ctx, fn);
        } finally {
          this.entering = previous;
        }
      },
      active: () => context.active(),
      root: () => ROOT_CONTEXT,
      getMetadata: (ctx) => {
        try {
          return metadataOf(ctx);
        } catch (err) {
          guard.report('getMetadata', err);
          return '{}';
        }
      },
      fromMetadata: (active, metadata) => {
        try {
          return (isContext(active) ? active : context.active()).setValue(METADATA_KEY, metadata);
        } catch (err) {
          guard.report('fromMetadata', err);
          return active;
        }
      },
    };
  }

  /** The attempt a processor call belongs to: the one BullMQ is entering, else the active context's. */
  private attemptFor(job: BullMQJobLike): ProcessSpan | undefined {
    const entering = this.entering;
    if (entering && !entering.delivery && entering.isFor(job)) return entering;
    const fromContext = context.active().getValue(PROCESS_KEY);
    return fromContext instanceof ProcessSpan && !fromContext.delivery ? fromContext : undefined;
  }

  /** @internal An attempt started outside any context manager: its outcome is found by job ID. */
  track(span: ProcessSpan, queueName: string, jobId: string): void {
    let jobs = this.untracked.get(queueName);
    if (!jobs) {
      jobs = new Map();
      this.untracked.set(queueName, jobs);
    }
    jobs.set(jobId, span);
  }

  /** @internal */
  untrack(span: ProcessSpan, queueName: string, jobId: string): void {
    const jobs = this.untracked.get(queueName);
    if (jobs?.get(jobId) !== span) return;
    jobs.delete(jobId);
    if (jobs.size === 0) this.untracked.delete(queueName);
  }

  /** @internal */
  tracked(queueName: string, jobId: string): ProcessSpan | undefined {
    return this.untracked.get(queueName)?.get(jobId);
  }

  /** @internal */
  get hooked(): boolean {
    return this.wrapped;
  }

  /** @internal */
  stalled(queueName: string, count: number): void {
    this.instr.guard.do('stalled jobs metric', () =>
      this.stalledJobs?.inc(
        { [LABEL_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_BULLMQ, [LABEL_DESTINATION]: queueName },
        count,
      ),
    );
  }

  /**
   * Wraps a Worker's processor so hoptrace sees the Job before it runs (attempt numbers, stalled
   * redeliveries, delays, backoffs, flow links). Same arguments, `this`, result and errors.
   * Wrap every processor of the Workers that share this telemetry object.
   */
  // biome-ignore lint/suspicious/noExplicitAny: any processor signature (BullMQ's Processor, a user's own Job type)
  processor<F extends (job: any, ...rest: any[]) => unknown>(fn: F): F {
    if (typeof fn !== 'function') {
      this.instr.guard.warnOnce(
        'processor',
        'processor() takes a function (sandboxed processors cannot be wrapped)',
      );
      return fn;
    }
    this.wrapped = true;
    const guard = this.instr.guard;
    const self = this;
    const wrapper = function (this: unknown, job: BullMQJobLike, ...rest: unknown[]): unknown {
      let span: ProcessSpan | undefined;
      try {
        span = self.attemptFor(job);
      } catch (err) {
        guard.report('processor', err);
      }
      if (!span) return fn.call(this, job, ...rest);
      const call = () => fn.call(this, job, ...rest);
      if (!span.flowNode) {
        startAttempt(guard, span, job);
        return runAttempt(span, call);
      }
      // A flow node: read its children's contexts first (two Redis round trips), then run.
      const attempt = span;
      return childLinks(job).then(
        (flow) => {
          startAttempt(guard, attempt, job, flow);
          return runAttempt(attempt, call);
        },
        (err) => {
          guard.report('flow links', err);
          startAttempt(guard, attempt, job);
          return runAttempt(attempt, call);
        },
      );
    };
    // BullMQ reads `processor.length` to decide whether to pass an AbortSignal.
    Object.defineProperty(wrapper, 'length', { value: fn.length });
    return wrapper as unknown as F;
  }

  /**
   * A copy of a FlowProducer tree in which every node has an `opts` object, so BullMQ stores the
   * flow's context on every job (5.x and 6.x skip nodes without one). Nothing else changes.
   */
  flow<T extends BullMQFlowNode>(tree: T): T {
    return this.instr.guard.run(
      'flow',
      () => copyFlow(tree),
      () => tree,
    );
  }

  private startSpan(name: unknown, kind: unknown, ctx: unknown): BullMQSpan<Context> {
    if (typeof name !== 'string') return NOOP_SPAN;
    const space = name.indexOf(' ');
    const operation = space < 0 ? name : name.slice(0, space);
    const rest = space < 0 ? '' : name.slice(space + 1);
    if (kind === KIND_PRODUCER && PUBLISH_OPERATIONS.has(operation)) {
      return new PublishSpan(this, operation as 'add' | 'addBulk' | 'addNode', rest);
    }
    if (kind === KIND_CONSUMER && operation === 'process') {
      return new ProcessSpan(this, rest, isContext(ctx) ? ctx : undefined);
    }
    if (operation === 'moveStalledJobsToWait') return new StalledCheckSpan(this, rest);
    if (OUTCOME_OPERATIONS.has(operation)) {
      const current = context.active().getValue(PROCESS_KEY);
      if (current instanceof ProcessSpan) current.sawOutcome(operation as 'complete');
      // No context manager: the job's ID, reported next, names the attempt.
      else if (this.untracked.size > 0) return new OutcomeSpan(this, operation as 'complete', rest);
    }
    return NOOP_SPAN;
  }
}

function startAttempt(
  guard: Guard,
  span: ProcessSpan,
  job: BullMQJobLike,
  flow?: { links: Link[]; children: number },
): void {
  try {
    span.start(job, flow);
  } catch (err) {
    guard.report('start', err);
  }
}

/** Runs the processor in the attempt's delivery; its result and errors pass through untouched. */
function runAttempt(span: ProcessSpan, call: () => unknown): unknown {
  const delivery = span.delivery;
  let result: unknown;
  try {
    result = delivery ? delivery.run(call) : call();
  } catch (err) {
    span.noteHandlerError(err);
    throw err;
  }
  // BullMQ 5 does not pass the processor's error to the span: keep it (same promise returned).
  if (isPromiseLike(result)) result.then(undefined, (err: unknown) => span.noteHandlerError(err));
  return result;
}

/** `hoptrace_stalled_jobs_total` in the options' registry (hoptrace's by default), created once. */
function stalledJobsCounter(candidate: MetricsRegistry | undefined): Counter<string> {
  const registry =
    candidate &&
    typeof candidate.getSingleMetric === 'function' &&
    typeof candidate.registerMetric === 'function'
      ? candidate
      : metricsRegistry;
  const existing = registry.getSingleMetric(METRIC_STALLED_JOBS);
  if (existing) return existing as Counter<string>;
  return new Counter({
    name: METRIC_STALLED_JOBS,
    help: "Jobs a BullMQ worker's stalled-job check moved back to wait or failed (their worker died or hung).",
    labelNames: [LABEL_MESSAGING_SYSTEM, LABEL_DESTINATION],
    registers: [registry],
  });
}

/** What BullMQ stores with a job added (or moved on) in `ctx`. */
function metadataOf(ctx: unknown): string {
  if (!isContext(ctx)) return '{}';
  const publish = ctx.getValue(PUBLISH_KEY);
  if (publish instanceof PublishSpan) return publish.metadata();
  // Inside an attempt (a retry): keep the job's original context, not the attempt's.
  const process = ctx.getValue(PROCESS_KEY);
  if (process instanceof ProcessSpan && process.metadata !== undefined) return process.metadata;
  const headers: Record<string, unknown> = {};
  injectContext(ctx, headers);
  return encodeMetadata(headers);
}

function isContext(value: unknown): value is Context {
  return typeof value === 'object' && value !== null && typeof (value as Context).getValue === 'function';
}
