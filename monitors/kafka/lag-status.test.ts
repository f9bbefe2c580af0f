import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluatePartitionStatus, type LagEvaluation, LagWindows, worstStatus } from './lag-status.js';

/** Evaluations one second apart. */
const window = (...points: [number, number][]): LagEvaluation[] =>
  points.map(([committed, lag], i) => ({ committed: BigInt(committed), lag, at: i * 1000 }));
const status = (w: LagEvaluation[], windowMs: number, members: boolean) =>
  evaluatePartitionStatus(w, windowMs, members).status;

describe('evaluatePartitionStatus (Burrow-style rules over a time window)', () => {
  it('is OK when any evaluation in the window has lag 0', () => {
    assert.deepEqual(evaluatePartitionStatus(window([5, 0], [5, 3], [5, 9]), 2000, false), {
      status: 'OK',
      settled: true,
    });
  });
  it('is OK and not settled until the window spans windowMs, whatever the number of evaluations', () => {
    assert.deepEqual(evaluatePartitionStatus(window([5, 3], [5, 3], [5, 3], [5, 3]), 3001, true), {
      status: 'OK',
      settled: false,
    });
    assert.equal(status(window([5, 3], [5, 3]), 1000, true), 'STALL', 'two evaluations spanning 1 s');
  });
  it('is STALL when offsets do not move with lag > 0 and members are there', () => {
    assert.equal(status(window([5, 3], [5, 4], [5, 9]), 2000, true), 'STALL');
  });
  it('is STOP when offsets do not move with lag > 0 and no member is left to commit', () => {
    assert.equal(status(window([5, 3], [5, 3], [5, 3]), 2000, false), 'STOP');
  });
  it('is WARN when offsets move but the lag never shrinks', () => {
    assert.equal(status(window([1, 3], [2, 3], [4, 7]), 2000, true), 'WARN');
  });
  it('is OK when offsets move and the lag shrinks at least once', () => {
    assert.equal(status(window([1, 9], [2, 5], [4, 7]), 2000, true), 'OK');
  });
});

describe('worstStatus and LagWindows', () => {
  it('orders OK < WARN < STALL < STOP and is undefined for nothing', () => {
    assert.equal(worstStatus(['OK', 'STALL', 'WARN']), 'STALL');
    assert.equal(worstStatus(['STOP', 'OK']), 'STOP');
    assert.equal(worstStatus([]), undefined);
  });
  it('keeps the evaluations of the last windowMs plus the one before, and forgets keys that went away', () => {
    const windows = new LagWindows(2000);
    for (const at of [0, 1000, 2000, 2500]) windows.push('a', { committed: BigInt(at), lag: 1, at });
    const a = windows.push('a', { committed: 3500n, lag: 1, at: 3500 });
    assert.deepEqual(
      a.map((e) => e.at),
      [1000, 2000, 2500, 3500],
      'from 1000: the newest evaluation at or before 3500 - 2000',
    );
    windows.push('b', { committed: 1n, lag: 1, at: 1 });
    windows.retain(new Set(['a']));
    assert.equal(windows.push('b', { committed: 9n, lag: 1, at: 9 }).length, 1, 'b started over');
  });
});
