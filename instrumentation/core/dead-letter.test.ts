import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadLetterDestinationFor, deadLetterHeaders, deadLetterInfoOf } from './dead-letter.js';

describe('dead-letter rule', () => {
  it('deadLetterDestinationFor defaults to <topic>.dlq', () => {
    assert.equal(deadLetterDestinationFor(undefined, 'orders'), 'orders.dlq');
    assert.equal(deadLetterDestinationFor('all-dead', 'orders'), 'all-dead');
    assert.equal(
      deadLetterDestinationFor((t) => `dlq.${t}`, 'orders'),
      'dlq.orders',
    );
  });

  it('deadLetterHeaders keeps the original headers untouched and adds the dead-letter ones', () => {
    const original = { tenant: Buffer.from([1, 2]), traceparent: 'tp' };
    const headers = deadLetterHeaders(original, {
      reason: 'max_attempts',
      error: new RangeError('x'.repeat(2000)),
      attempts: 3,
      source: 'orders',
      partition: 2,
      offset: '41',
      group: 'billing',
      at: 1700000000000,
    });
    assert.deepEqual(Object.keys(original), ['tenant', 'traceparent'], 'original not mutated');
    assert.equal(headers.tenant, original.tenant);
    assert.equal(headers.traceparent, 'tp');
    assert.equal(headers['x-hoptrace-dead-letter-reason'], 'max_attempts');
    // One limit for every transport (Kafka wrote 1024 before; the contract says 512).
    assert.equal((headers['x-hoptrace-dead-letter-error'] as string).length, 512);
    assert.match(headers['x-hoptrace-dead-letter-error'] as string, /^RangeError: x+$/);
    assert.equal(headers['x-hoptrace-dead-letter-error-type'], 'RangeError');
    assert.equal(headers['x-hoptrace-dead-letter-attempts'], '3');
    assert.equal(headers['x-hoptrace-dead-letter-source'], 'orders');
    assert.equal(headers['x-hoptrace-dead-letter-source-partition'], '2');
    assert.equal(headers['x-hoptrace-dead-letter-source-offset'], '41');
    assert.equal(headers['x-hoptrace-dead-letter-group'], 'billing');
    assert.equal(headers['x-hoptrace-dead-letter-at'], '1700000000000');
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

  it('writes no partition, offset or group where the source has none', () => {
    const headers = deadLetterHeaders(undefined, {
      reason: 'max_attempts',
      error: 'plain string',
      attempts: 1,
      source: 'order.placed',
      at: 1700000000000,
    });
    assert.deepEqual(Object.keys(headers).sort(), [
      'x-hoptrace-dead-letter-at',
      'x-hoptrace-dead-letter-attempts',
      'x-hoptrace-dead-letter-error',
      'x-hoptrace-dead-letter-error-type',
      'x-hoptrace-dead-letter-reason',
      'x-hoptrace-dead-letter-source',
    ]);
    assert.equal(headers['x-hoptrace-dead-letter-error'], 'plain string');
    assert.equal(headers['x-hoptrace-dead-letter-error-type'], 'string');
  });
});
