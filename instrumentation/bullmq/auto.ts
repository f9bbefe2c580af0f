/**
 * `BullMQInstrumentation`: hoptrace's BullMQ tracing as an OpenTelemetry instrumentation, for
 * `NodeSDK({ instrumentations })`, `registerInstrumentations` or `--import hoptrace/register`. It gives
 * every `Queue`, `Worker` and `FlowProducer` made without a `telemetry` option one shared
 * `BullMQTelemetry`, and wraps a Worker's processor function with `telemetry.processor()` (exact
 * attempts and backoff delays). An object made with its own `telemetry` is left exactly as it is.
 */
import {
  type InstrumentationModuleDefinition,
  InstrumentationNodeModuleDefinition,
} from '@opentelemetry/instrumentation';
import { HoptraceInstrumentation, type HoptraceInstrumentationConfig } from '../transport/index.js';
import { BullMQTelemetry } from './telemetry.js';
import type { BullMQTelemetryOptions } from './types.js';

const SUPPORTED = ['>=5.0.0 <7'];

export type BullMQInstrumentationConfig = HoptraceInstrumentationConfig<BullMQTelemetryOptions>;

type Options = { telemetry?: unknown; [option: string]: unknown } | undefined;

export class BullMQInstrumentation extends HoptraceInstrumentation<BullMQTelemetryOptions> {
  private telemetry: BullMQTelemetry | undefined;
  /** Whether the object being constructed got the shared telemetry (set right before its constructor runs). */
  private injected = false;

  constructor(config: BullMQInstrumentationConfig = {}) {
    super('bullmq', config);
  }

  protected override init(): InstrumentationModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'bullmq',
        SUPPORTED,
        (exports) => {
          let patched = this.patchClass(
            exports,
            'Queue',
            (queue) => queue,
            (args) => this.withTelemetry(args, 1),
          );
          patched = this.patchClass(
            patched,
            'FlowProducer',
            (flow) => this.tracedFlows(flow),
            (args) => this.withTelemetry(args, 0),
          );
          return this.patchClass(
            patched,
            'Worker',
            (worker) => worker,
            (args) => this.worker(args),
          );
        },
        (exports) => this.unpatchExports(exports),
      ),
    ];
  }

  /** One telemetry object for every BullMQ object of the process (one service, as docs/bullmq.md advises). */
  private shared(): BullMQTelemetry {
    this.telemetry ??= new BullMQTelemetry(this.wrapperOptions());
    return this.telemetry;
  }

  /** `args` with `telemetry` added to the options at `index`, unless the caller set one. */
  private withTelemetry(args: unknown[], index: number): unknown[] {
    this.injected = false;
    const options = args[index] as Options;
    if (options !== undefined && (options === null || typeof options !== 'object')) return args;
    if (options?.telemetry !== undefined) return args;
    this.injected = true;
    const copy = [...args];
    while (copy.length < index) copy.push(undefined);
    copy[index] = { ...options, telemetry: this.shared() };
    return copy;
  }

  /**
   * A FlowProducer given the shared telemetry passes its trees through `telemetry.flow()`, so every node
   * carries the context (BullMQ skips nodes without `opts`).
   */
  private tracedFlows(flow: object): object {
    if (!this.injected) return flow;
    const telemetry = this.shared();
    type Tree = Parameters<BullMQTelemetry['flow']>[0];
    const producer = flow as {
      add?: (tree: Tree, ...rest: unknown[]) => unknown;
      addBulk?: (trees: Tree[], ...rest: unknown[]) => unknown;
    };
    const { add, addBulk } = producer;
    if (typeof add === 'function') {
      producer.add = (tree, ...rest) => add.call(flow, telemetry.flow(tree), ...rest);
    }
    if (typeof addBulk === 'function') {
      producer.addBulk = (trees, ...rest) =>
        addBulk.call(flow, Array.isArray(trees) ? trees.map((tree) => telemetry.flow(tree)) : trees, ...rest);
    }
    return flow;
  }

  /** `new Worker(name, processor, opts, connection)`: telemetry in the options, the processor wrapped. */
  private worker(args: unknown[]): unknown[] {
    if ((args[2] as Options)?.telemetry !== undefined) return args;
    const copy = this.withTelemetry(args, 2);
    if (typeof copy[1] === 'function')
      copy[1] = this.shared().processor(copy[1] as (job: unknown) => unknown);
    return copy;
  }
}
