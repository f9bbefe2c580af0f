import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomId } from './ids.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('randomId', () => {
  it('makes version 4 UUIDs, all different, across refills of the random batch', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = randomId();
      assert.match(id, UUID_V4);
      seen.add(id);
    }
    assert.equal(seen.size, 100_000);
  });

  it('uses every hex digit in every free position', () => {
    const digits = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 20_000; i++) {
      const id = randomId();
      for (let at = 0; at < id.length; at++) digits[at]?.add(id[at] as string);
    }
    for (const at of [0, 9, 15, 20, 35]) assert.equal(digits[at]?.size, 16, `position ${at}`);
    assert.deepEqual([...(digits[14] ?? [])], ['4']);
    assert.equal(digits[19]?.size, 4, 'variant: 8, 9, a, b');
  });
});
