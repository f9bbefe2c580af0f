import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluatePartitionStatus, type LagEvaluation, LagWindows, worstStatus } from './lag-status.js';

const window = (...points: [number, number][]): LagEvaluation[] =>
  points.map(([committed, lag], i) => ({ committed: BigInt(committed), lag, at: i * 1000 }));

describe('evaluatePartitionStatus (Burrow-style rules)', () => {
  it('is OK when any evaluation in the window has lag 0', () => {
    assert.equal(evaluatePartitionStatus(window([5, 0], [5, 3], [5, 9]), 3, false), 'OK');
  });
  it('is OK until the window is full', () => {
    assert.equal(evaluatePartitionStatus(window([5, 3], [5, 3]), 3, true), 'OK');
  });
  it('is STALL when offsets do not move with lag > 0 and members are there', () => {
    assert.equal(evaluatePartitionStatus(window([5, 3], [5, 4], [5, 9]), 3, true), 'STALL');
  });
  it('is STOP when offsets do not move with lag > 0 and no member is left to commit', () => {
    assert.equal(evaluatePartitionStatus(window([5, 3], [5, 3], [5, 3]), 3, false), 'STOP');
  });
  it('is WARN when offsets move but the lag never shrinks', () => {
    assert.equal(evaluatePartitionStatus(window([1, 3], [2, 3], [4, 7]), 3, true), 'WARN');
  });
  it('is OK when offsets move and the lag shrinks at least once', () => {
    assert.equal(evaluatePartitionStatus(window([1, 9], [2, 5], [4, 7]), 3, true), 'OK');
  });
});

describe('worstStatus and LagWindows', () => {
  it('orders OK < WARN < STALL < STOP and is undefined for nothing', () => {
    assert.equal(worstStatus(['OK', 'STALL', 'WARN']), 'STALL');
    assert.equal(worstStatus(['STOP', 'OK']), 'STOP');
    assert.equal(worstStatus([]), undefined);
  });
  it('keeps the last N evaluations per key and forgets keys that went away', () => {
    const windows = new LagWindows(2);
    windows.push('a', { committed: 1n, lag: 1, at: 1 });
    windows.push('a', { committed: 2n, lag: 1, at: 2 });
    const a = windows.push('a', { committed: 3n, lag: 1, at: 3 });
    assert.deepEqual(
      a.map((e) => e.committed),
      [2n, 3n],
    );
    windows.push('b', { committed: 1n, lag: 1, at: 1 });
    windows.retain(new Set(['a']));
    assert.equal(windows.push('b', { committed: 9n, lag: 1, at: 9 }).length, 1, 'b started over');
  });
});
