/**
 * Running a user's message handler inside its delivery, the most delicate step of every consumer wrapper,
 * written once. The rules:
 * - The handler runs once, in the delivery's context (`delivery.run`).
 * - Its value, promise or thrown error reaches the caller as the same object, once: hoptrace observes a
 *   returned promise, it never replaces what the caller awaits (`runHandler`), or, for clients that
 *   await the wrapper itself (kafkajs), rejects with the very error object (`runHandlerAwaited`).
 * - Exactly one of `succeeded` / `failed` is called, once, even for a thenable that calls back twice
 *   or both ways; a throwing callback is logged through the guard and never reaches the user.
 * - Any thenable counts as a promise, whatever realm made it (jest sandboxes, `vm` contexts): it is
 *   recognised by its `then` method, never by `instanceof Promise`.
 */
import type { Guard } from './safe.js';
import { isPromiseLike } from './utils.js';

/** What `runHandler` needs of a delivery (a `Delivery` or a `BatchDelivery`). */
export interface HandlerScope {
  run<T>(handler: () => T): T;
}

/** How the handler finished; each wrapper maps this to its outcome (ack, retry, error, dead letter). */
export interface HandlerOutcome {
  /** The handler returned, or its promise fulfilled. */
  succeeded(): void;
  /** The handler threw or its promise rejected; `error` is what it threw, the same object. */
  failed(error: unknown): void;
}

export interface RunHandlerOptions {
  /**
   * The client drops the handler's promise (amqplib): keep a rejection unhandled, as it would be without
   * hoptrace, although hoptrace observed it. The process then sees the same reason, once.
   */
  keepRejectionUnhandled?: boolean;
}

/**
 * Runs `handler` in `scope` and reports how it finished to `outcome`. Returns exactly what the handler
 * returned (the same promise); a synchronous throw is reported, then rethrown as the same object.
 */
export function runHandler<T>(
  guard: Guard,
  scope: HandlerScope,
  handler: () => T,
  outcome: HandlerOutcome,
  options?: RunHandlerOptions,
): T {
  let result: T;
  try {
    result = scope.run(handler);
  } catch (error) {
    reportFailure(guard, outcome, error);
    throw error;
  }
  if (!isPromiseLike(result)) {
    reportSuccess(guard, outcome);
    return result;
  }
  const keep = options?.keepRejectionUnhandled === true && isNativePromise(result);
  let done = false;
  const fulfilled = () => {
    if (done) return;
    done = true;
    reportSuccess(guard, outcome);
  };
  const rejected = (error: unknown) => {
    if (done) return;
    done = true;
    reportFailure(guard, outcome, error);
    // A new rejected promise nobody handles: the process sees the handler's own error as unhandled.
    if (keep) void Promise.reject(error);
  };
  try {
    result.then(fulfilled, rejected);
  } catch (error) {
    // A thenable whose `then` throws: awaiting it would reject with that error.
    rejected(error);
  }
  return result;
}

export interface AwaitedHandlerOutcome {
  /** The handler returned, or its promise fulfilled; may be async (the wrapper resolves after it). */
  succeeded(): void | PromiseLike<void>;
  /**
   * The handler failed with `error` (the same object). Resolves true when the wrapper handled the failure
   * (e.g. dead-lettered the message): the wrapper then resolves; false: it rejects with `error`.
   */
  failed(error: unknown): boolean | PromiseLike<boolean>;
}

/**
 * For clients that await the wrapper (kafkajs `eachMessage` / `eachBatch`): runs `handler` in `scope`
 * and returns a promise that settles after `outcome` has run: it fulfils when the handler succeeded or
 * `failed` handled the failure, and otherwise rejects with the handler's error, the same object. A
 * synchronous throw becomes that rejection too (the client awaits it either way).
 */
export function runHandlerAwaited(
  guard: Guard,
  scope: HandlerScope,
  handler: () => unknown,
  outcome: AwaitedHandlerOutcome,
): Promise<void> {
  let result: unknown;
  try {
    result = scope.run(handler);
  } catch (error) {
    return afterFailure(guard, outcome, error);
  }
  // Promise.resolve adopts any thenable (from any realm) the way `await` does, and calls back once.
  return Promise.resolve(result).then(
    () => afterSuccess(guard, outcome),
    (error: unknown) => afterFailure(guard, outcome, error),
  );
}

function afterSuccess(guard: Guard, outcome: AwaitedHandlerOutcome): void | Promise<void> {
  let pending: void | PromiseLike<void>;
  try {
    pending = outcome.succeeded();
  } catch (err) {
    guard.report('handler succeeded', err);
    return;
  }
  // Synchronous (the usual case): no extra promise.
  if (!isPromiseLike(pending)) return;
  return Promise.resolve(pending).then(undefined, (err: unknown) => guard.report('handler succeeded', err));
}

async function afterFailure(guard: Guard, outcome: AwaitedHandlerOutcome, error: unknown): Promise<void> {
  let handled = false;
  try {
    handled = (await outcome.failed(error)) === true;
  } catch (err) {
    guard.report('handler failed', err);
  }
  if (!handled) throw error;
}

function reportSuccess(guard: Guard, outcome: HandlerOutcome): void {
  try {
    outcome.succeeded();
  } catch (err) {
    guard.report('handler succeeded', err);
  }
}

function reportFailure(guard: Guard, outcome: HandlerOutcome, error: unknown): void {
  try {
    outcome.failed(error);
  } catch (err) {
    guard.report('handler failed', err);
  }
}

/** A native promise of any realm (`instanceof` would miss other realms'). */
function isNativePromise(value: unknown): boolean {
  return Object.prototype.toString.call(value) === '[object Promise]';
}
