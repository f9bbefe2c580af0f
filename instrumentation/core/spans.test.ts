import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spanName } from './spans.js';

describe('spanName', () => {
  it('is "<operation> <destination>", one string per destination, correct past the cache bound', () => {
    assert.equal(spanName('process', 'orders'), 'process orders');
    assert.equal(spanName('send', 'orders'), 'send orders');
    for (let i = 0; i < 2_500; i++) assert.equal(spanName('publish', `topic-${i}`), `publish topic-${i}`);
    assert.equal(spanName('process', 'orders'), 'process orders');
  });
});
