/**
 * Public types of `hoptrace/bullmq`. BullMQ's own types are matched structurally (its `Telemetry`
 * interface, `Job`, `FlowJob`), so this module's typings and code load without `bullmq` installed
 * and fit both majors (5 and 6).
 */
import type { InstrumentationOptions } from '../transport/index.js';

/** What a producer hook sees: the queue, the job's name and BullMQ's operation. */
export interface BullMQPublishMessage {
  queueName: string;
  /** Absent for `addBulk` (several names) until BullMQ reports them. */
  jobName: string | undefined;
  /** `add`, `addBulk` or `addNode` (a FlowProducer's job). */
  operation: 'add' | 'addBulk' | 'addNode';
}

/**
 * The fields of a BullMQ `Job` hoptrace reads (5.x and 6.x both have them). Never `data` or `returnvalue`.
 */
export interface BullMQJobLike {
  id?: string;
  name: string;
  /** Epoch ms the job was added. */
  timestamp: number;
  /** Current delay in ms: the `delay` option, then the last backoff once the job was retried. */
  delay?: number;
  attemptsMade: number;
  /** Every start, stalled ones included (both majors; missing in old 5.x). */
  attemptsStarted?: number;
  opts?: { attempts?: number; delay?: number; telemetry?: { metadata?: string } };
  /** Set by `job.discard()` (5.x). */
  discarded?: boolean;
  getDependencies?(): Promise<unknown>;
}

/** What a consumer hook sees: the Job when processors are wrapped with `processor()`, else its id and name. */
export type BullMQConsumeMessage = BullMQJobLike | { id: string | undefined; name: string | undefined };

/** `new BullMQTelemetry(options)`: the options every hoptrace wrapper takes. */
export type BullMQTelemetryOptions = InstrumentationOptions<BullMQPublishMessage, BullMQConsumeMessage>;

/** A FlowProducer node (BullMQ's `FlowJob`), as far as `flow()` reads it. */
export interface BullMQFlowNode {
  name: string;
  queueName: string;
  opts?: object;
  children?: BullMQFlowNode[];
}

// --- BullMQ's telemetry interface (`bullmq/dist/esm/interfaces/telemetry.d.ts`), structurally

export type BullMQAttributeValue =
  | string
  | number
  | boolean
  | Array<null | undefined | string>
  | Array<null | undefined | number>
  | Array<null | undefined | boolean>;
export interface BullMQAttributes {
  [attribute: string]: BullMQAttributeValue | undefined;
}

export interface BullMQSpan<Ctx> {
  setSpanOnContext(ctx: Ctx): Ctx;
  setAttribute(key: string, value: BullMQAttributeValue): void;
  setAttributes(attributes: BullMQAttributes): void;
  addEvent(name: string, attributes?: BullMQAttributes): void;
  recordException(exception: unknown, time?: unknown): void;
  end(): void;
}

export interface BullMQTracer<Ctx> {
  startSpan(name: string, options?: { kind: number }, context?: Ctx): BullMQSpan<Ctx>;
}

export interface BullMQContextManager<Ctx> {
  // biome-ignore lint/suspicious/noExplicitAny: BullMQ's own signature, so implementations stay assignable
  with<A extends (...args: any[]) => any>(context: Ctx, fn: A): ReturnType<A>;
  active(): Ctx;
  root(): Ctx;
  getMetadata(context: Ctx): string;
  fromMetadata(activeContext: Ctx, metadata: string): Ctx;
}
