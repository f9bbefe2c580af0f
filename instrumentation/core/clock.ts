/**
 * Wall-clock time read from the monotonic clock. The message path needs both clocks per message, and on
 * virtual machines `Date.now()` is often the slower read (about 200 ns against 80 ns for `performance.now()`
 * on the benchmark machine). So publish and delivery read only `performance.now()` and derive wall time as
 * `performance.timeOrigin` + that reading, which agrees with `Date.now()` to the millisecond. Once a second
 * the derivation is checked against `Date.now()` and re-anchored when they disagree by more (a clock step,
 * a suspended VM), so a step shows within a second.
 */
import { performance } from 'node:perf_hooks';

const CHECK_EVERY_MS = 1_000;

let offset = performance.timeOrigin;
let checkedAt = Number.NEGATIVE_INFINITY;

/** Epoch milliseconds (fractional) at `monotonicMs`, a recent `performance.now()` reading. */
export function wallClockAt(monotonicMs: number): number {
  if (monotonicMs - checkedAt >= CHECK_EVERY_MS) check();
  return offset + monotonicMs;
}

function check(): void {
  const monotonic = performance.now();
  const wall = Date.now();
  // Date.now() truncates: in agreement it lies within (derived - 1, derived]. Re-anchored mid-millisecond,
  // it lies within (derived - 1.5, derived + 0.5), so only a real step of about a millisecond re-anchors.
  const drift = wall - (offset + monotonic);
  if (drift > 1 || drift < -2) offset = wall + 0.5 - monotonic;
  checkedAt = monotonic;
}
