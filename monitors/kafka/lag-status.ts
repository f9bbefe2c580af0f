/**
 * Burrow-style consumer status from a sliding window of the last N evaluations of one partition.
 *
 * Rules, in order (partition):
 * 1. Any evaluation in the window with lag 0: OK (the consumer caught up within the window).
 * 2. Fewer than N evaluations: OK (not enough evidence yet).
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
  lag: number;
  at: number;
}

export function evaluatePartitionStatus(
  window: readonly LagEvaluation[],
  windowSize: number,
  groupHasMembers: boolean,
): LagStatus {
  if (window.length === 0 || window.some((e) => e.lag === 0)) return 'OK';
  if (window.length < windowSize) return 'OK';
  const first = window[0] as LagEvaluation;
  if (window.every((e) => e.committed === first.committed)) return groupHasMembers ? 'STALL' : 'STOP';
  let neverShrank = true;
  for (let i = 1; i < window.length; i++) {
    if ((window[i] as LagEvaluation).lag < (window[i - 1] as LagEvaluation).lag) neverShrank = false;
  }
  return neverShrank ? 'WARN' : 'OK';
}

export function worstStatus(statuses: Iterable<LagStatus>): LagStatus | undefined {
  let worst: LagStatus | undefined;
  for (const status of statuses) {
    if (worst === undefined || LAG_STATUS[status] > LAG_STATUS[worst]) worst = status;
  }
  return worst;
}

/** A bounded sliding window per key. */
export class LagWindows {
  private readonly windows = new Map<string, LagEvaluation[]>();
  constructor(private readonly size: number) {}

  push(key: string, evaluation: LagEvaluation): readonly LagEvaluation[] {
    let window = this.windows.get(key);
    if (!window) {
      window = [];
      this.windows.set(key, window);
    }
    window.push(evaluation);
    if (window.length > this.size) window.splice(0, window.length - this.size);
    return window;
  }

  /** Forgets every key not in `live` (groups or partitions that went away). */
  retain(live: ReadonlySet<string>): void {
    for (const key of this.windows.keys()) if (!live.has(key)) this.windows.delete(key);
  }
}
