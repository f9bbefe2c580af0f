/**
 * Burrow-style consumer status from a sliding time window of one partition's evaluations.
 *
 * The window holds the evaluations of the last `windowMs` plus the newest one before them, so it
 * spans at least `windowMs` once the partition has been watched that long (the poll period only sets
 * how many evaluations it holds). Rules, in order (partition):
 * 1. Any evaluation in the window caught up (lag 0, or only transaction markers left): OK.
 * 2. The window spans less than `windowMs`: OK, not settled (not enough evidence yet).
 * 3. The committed offset did not move across the window (and, by rule 1, lag > 0 throughout):
 *    STOP when the group has no active member (nobody is left to commit: commits stopped),
 *    STALL when members are there but do not advance (stuck on a message, or paused).
 * 4. The offset moved but the lag never shrank (each evaluation >= the one before): WARN.
 * 5. Otherwise OK.
 * A group's status is its worst partition's (OK < WARN < STALL < STOP).
 */
import { LAG_STATUS, type LagStatus } from '../../instrumentation/core/semconv.js';

export interface LagEvaluation {
  /** Committed offset (the next offset the group will read). */
  committed: bigint;
  /** Lag for the status: 0 when caught up (also when only transaction markers are left). */
  lag: number;
  at: number;
}

export interface PartitionStatus {
  status: LagStatus;
  /** False while the window is too short to judge (rule 2): the OK is a default, not evidence. */
  settled: boolean;
}

export function evaluatePartitionStatus(
  window: readonly LagEvaluation[],
  windowMs: number,
  groupHasMembers: boolean,
): PartitionStatus {
  if (window.length === 0) return { status: 'OK', settled: false };
  if (window.some((e) => e.lag === 0)) return { status: 'OK', settled: true };
  const first = window[0] as LagEvaluation;
  const last = window[window.length - 1] as LagEvaluation;
  if (last.at - first.at < windowMs) return { status: 'OK', settled: false };
  if (window.every((e) => e.committed === first.committed))
    return { status: groupHasMembers ? 'STALL' : 'STOP', settled: true };
  let neverShrank = true;
  for (let i = 1; i < window.length; i++) {
    if ((window[i] as LagEvaluation).lag < (window[i - 1] as LagEvaluation).lag) neverShrank = false;
  }
  return { status: neverShrank ? 'WARN' : 'OK', settled: true };
}

export function worstStatus(statuses: Iterable<LagStatus>): LagStatus | undefined {
  let worst: LagStatus | undefined;
  for (const status of statuses) {
    if (worst === undefined || LAG_STATUS[status] > LAG_STATUS[worst]) worst = status;
  }
  return worst;
}

/** Bounds a window whatever the poll period (a 1 ms window polled every ms stays small). */
const MAX_EVALUATIONS = 1000;

/** A sliding time window per key. */
export class LagWindows {
  private readonly windows = new Map<string, LagEvaluation[]>();
  constructor(private readonly windowMs: number) {}

  push(key: string, evaluation: LagEvaluation): readonly LagEvaluation[] {
    let window = this.windows.get(key);
    if (!window) {
      window = [];
      this.windows.set(key, window);
    }
    window.push(evaluation);
    // Drop evaluations while the next one is still at least windowMs old: the window keeps spanning windowMs.
    const from = evaluation.at - this.windowMs;
    let drop = 0;
    while (drop + 1 < window.length && (window[drop + 1] as LagEvaluation).at <= from) drop++;
    drop = Math.max(drop, window.length - MAX_EVALUATIONS);
    if (drop > 0) window.splice(0, drop);
    return window;
  }

  /** Forgets every key not in `live` (groups or partitions that went away). */
  retain(live: ReadonlySet<string>): void {
    for (const key of this.windows.keys()) if (!live.has(key)) this.windows.delete(key);
  }
}
