/**
 * The guard every hoptrace step on the message path runs through: inject, extract, span, metric, hook.
 * A failure is logged once per step through `diag` (namespace `hoptrace/<area>`) and swallowed, so
 * instrumentation can never break a publish, a consume, an ack or a handler's own error.
 */
import { type DiagLogger, diag } from '@opentelemetry/api';

export interface Guard {
  readonly logger: DiagLogger;
  /** Runs `fn`; on a throw logs it and returns `fallback()` (built only then: this is the hot path). */
  run<T>(step: string, fn: () => T, fallback: () => T): T;
  /** Runs `fn` for its side effect only. */
  do(step: string, fn: () => void): void;
  /**
   * Logs a failure of `step` as `run` and `do` do. For per-message code that catches on its own rather
   * than passing closures (which would be allocated on every message).
   */
  report(step: string, error: unknown): void;
  /** Logs a warning once per key (bad options, metric clashes). */
  warnOnce(key: string, message: string): void;
}

const guards = new Map<string, Guard>();

export function guardFor(area: string): Guard {
  let guard = guards.get(area);
  if (!guard) {
    guard = createGuard(area);
    guards.set(area, guard);
  }
  return guard;
}

function createGuard(area: string): Guard {
  const logger = diag.createComponentLogger({ namespace: `hoptrace/${area}` });
  const failures = new Map<string, number>();
  const warned = new Set<string>();

  const report = (step: string, err: unknown): void => {
    const count = (failures.get(step) ?? 0) + 1;
    failures.set(step, count);
    // Log the first failure of each step, then every 1000th so a hot path cannot flood the log.
    if (count === 1 || count % 1000 === 0) {
      try {
        logger.error(`${step} failed (${count} so far); the message flow is unaffected`, err);
      } catch {
        // A throwing diag logger must not break the caller either.
      }
    }
  };

  return {
    logger,
    run<T>(step: string, fn: () => T, fallback: () => T): T {
      try {
        return fn();
      } catch (err) {
        report(step, err);
        return fallback();
      }
    },
    do(step: string, fn: () => void): void {
      try {
        fn();
      } catch (err) {
        report(step, err);
      }
    },
    report,
    warnOnce(key: string, message: string): void {
      if (warned.has(key)) return;
      warned.add(key);
      try {
        logger.warn(message);
      } catch {
        // ignored: see above
      }
    },
  };
}
