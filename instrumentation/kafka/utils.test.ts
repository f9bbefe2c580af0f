import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deadLetterHeaders,
  deadLetterInfoOf,
  deadLetterTopicFor,
  keyAttribute,
  recordTimestamp,
} from './utils.js';

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

  it('deadLetterTopicFor defaults to <topic>.dlq', () => {
    assert.equal(deadLetterTopicFor(undefined, 'orders'), 'orders.dlq');
    assert.equal(deadLetterTopicFor('all-dead', 'orders'), 'all-dead');
    assert.equal(
      deadLetterTopicFor((t) => `dlq.${t}`, 'orders'),
      'dlq.orders',
    );
  });

  it('deadLetterHeaders keeps the original headers untouched and adds the dead-letter ones', () => {
    const original = { tenant: Buffer.from([1, 2]), traceparent: 'tp' };
    const headers = deadLetterHeaders(original, {
      reason: 'max_attempts',
      error: new RangeError('x'.repeat(2000)),
      errorType: 'RangeError',
      attempts: 3,
      topic: 'orders',
      partition: 2,
      offset: '41',
      group: 'billing',
      at: 1700000000000,
    });
    assert.deepEqual(Object.keys(original), ['tenant', 'traceparent'], 'original not mutated');
    assert.equal(headers.tenant, original.tenant);
    assert.equal(headers.traceparent, 'tp');
    assert.equal(headers['x-hoptrace-dead-letter-reason'], 'max_attempts');
    assert.equal((headers['x-hoptrace-dead-letter-error'] as string).length, 1024);
    assert.equal(headers['x-hoptrace-dead-letter-attempts'], '3');
    assert.equal(headers['x-hoptrace-dead-letter-source-partition'], '2');
    assert.equal(headers['x-hoptrace-dead-letter-source-offset'], '41');
    assert.equal(headers['x-hoptrace-dead-letter-group'], 'billing');
    assert.deepEqual(
      deadLetterInfoOf({ ...headers, 'x-hoptrace-dead-letter-reason': Buffer.from('max_attempts') }),
      {
        reason: 'max_attempts',
        source: 'orders',
        count: false,
      },
    );
    assert.equal(deadLetterInfoOf({ 'x-hoptrace-dead-letter-reason': 'bogus' }), undefined);
  });
});
