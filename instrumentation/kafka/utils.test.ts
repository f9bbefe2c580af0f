import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyAttribute, recordTimestamp } from './utils.js';

describe('kafka utils', () => {
  it('keyAttribute keeps printable keys and drops binary ones', () => {
    assert.equal(keyAttribute('order-1'), 'order-1');
    assert.equal(keyAttribute(Buffer.from('order-2')), 'order-2');
    assert.equal(keyAttribute(Buffer.from([0xff, 0x00, 0x01])), undefined);
    assert.equal(keyAttribute(null), undefined);
    assert.equal(keyAttribute('k'.repeat(1000))?.length, 256);
  });

  it('recordTimestamp reads epoch ms strings and rejects junk', () => {
    assert.equal(recordTimestamp({ timestamp: '1700000000000' }), 1700000000000);
    assert.equal(recordTimestamp({ timestamp: '-1' }), undefined);
    assert.equal(recordTimestamp({ timestamp: 'x' }), undefined);
    assert.equal(recordTimestamp({}), undefined);
  });
});
