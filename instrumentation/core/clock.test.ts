import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wallClockAt } from './clock.js';

describe('wallClockAt', () => {
  it('agrees with Date.now() to the millisecond', () => {
    for (let i = 0; i < 1000; i++) {
      const before = Date.now();
      const wall = wallClockAt(performance.now());
      const after = Date.now();
      // Date.now() truncates: the derived time lies in [before, after + 1), give or take a re-anchoring.
      assert.ok(wall >= before - 1 && wall < after + 1.5, `${before} <= ${wall} < ${after + 1}`);
    }
  });

  it('follows the monotonic reading it is given', () => {
    const now = performance.now();
    assert.equal(wallClockAt(now + 250) - wallClockAt(now), 250);
  });
});
