/** Small pure helpers of `hoptrace/aws`. */
import { Counter } from 'prom-client';
import { LABEL_MESSAGING_SYSTEM, LABEL_REASON, METRIC_CONTEXT_NOT_PROPAGATED } from '../core/semconv.js';
import { type Guard, type MetricsRegistry, metricsRegistry } from '../transport/index.js';

/** The operation of an SDK v3 command (`SendMessage`): from its schema, else its class name. */
export function operationOf(command: unknown): string | undefined {
  if (!command || typeof command !== 'object') return undefined;
  const schema = (command as { schema?: unknown }).schema;
  if (Array.isArray(schema) && typeof schema[2] === 'string') return schema[2];
  const name = (command as object).constructor?.name;
  return typeof name === 'string' && name.endsWith('Command') ? name.slice(0, -'Command'.length) : undefined;
}

/** The same command with another input: a child object, so the caller's command (and its own middleware) is kept. */
export function withInput<C extends object>(command: C, input: Record<string, unknown>): C {
  const copy = Object.create(command) as C;
  Object.defineProperty(copy, 'input', {
    value: input,
    writable: true,
    enumerable: true,
    configurable: true,
  });
  return copy;
}

/** Queue name from a queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`). */
export function queueNameOf(queueUrl: unknown): string {
  if (typeof queueUrl !== 'string' || queueUrl.length === 0) return 'unknown';
  const trimmed = queueUrl.endsWith('/') ? queueUrl.slice(0, -1) : queueUrl;
  return trimmed.slice(trimmed.lastIndexOf('/') + 1) || 'unknown';
}

/** Topic or queue name from an ARN (`arn:aws:sns:<region>:<account>:<name>`). */
export function arnNameOf(arn: unknown): string {
  if (typeof arn !== 'string' || arn.length === 0) return 'unknown';
  return arn.slice(arn.lastIndexOf(':') + 1) || 'unknown';
}

const counters = new WeakMap<MetricsRegistry, Counter<string>>();

/** `hoptrace_context_not_propagated_total{messaging_system,reason}` in `registry` (get or create). */
export function notPropagatedCounter(registry: MetricsRegistry | undefined): Counter<string> {
  const reg = registry ?? metricsRegistry;
  let counter = counters.get(reg);
  if (counter) return counter;
  const existing = reg.getSingleMetric(METRIC_CONTEXT_NOT_PROPAGATED);
  counter =
    existing instanceof Counter
      ? (existing as Counter<string>)
      : new Counter({
          name: METRIC_CONTEXT_NOT_PROPAGATED,
          help: 'Sends whose hoptrace context did not fully fit the message, by reason (aws_trace_header: trace context only).',
          labelNames: [LABEL_MESSAGING_SYSTEM, LABEL_REASON],
          registers: existing ? [] : [reg],
        });
  counters.set(reg, counter);
  return counter;
}

/** An AWS SDK v3 client's `send` (promise style). */
export type Send = (command: unknown, ...rest: unknown[]) => Promise<unknown>;

/**
 * The client's bound `send`; undefined when the client is already instrumented (`marker`) or is not an
 * AWS SDK v3 client (warned once): the caller then returns it as is.
 */
export function sendOf(client: object, marker: symbol, guard: Guard, caller: string): Send | undefined {
  const target = client as { send?: unknown; [key: symbol]: unknown };
  if (!target || typeof target.send !== 'function') {
    guard.warnOnce(`${caller}:client`, `${caller}: not an AWS SDK v3 client (no send); returned as is`);
    return undefined;
  }
  if (target[marker]) return undefined;
  return target.send.bind(target) as Send;
}

/** The client with `send` replaced by `tracedSend`, marked so a second instrumentation leaves it. */
export function withTracedSend<T extends object>(client: T, marker: symbol, tracedSend: Send): T {
  return new Proxy(client, {
    get(obj, prop, receiver) {
      if (prop === 'send') return tracedSend;
      if (prop === marker) return true;
      return Reflect.get(obj, prop, receiver);
    },
  });
}
