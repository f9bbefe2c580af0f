import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidTopicError } from './errors.js';
import { assertTopic, compilePattern } from './topic.js';

describe('topic patterns', () => {
  const table: Array<[pattern: string, topic: string, matches: boolean]> = [
    ['order.placed', 'order.placed', true],
    ['order.placed', 'order.placed.eu', false],
    ['order.*', 'order.placed', true],
    ['order.*', 'order', false],
    ['order.*', 'order.placed.eu', false],
    ['*.placed', 'order.placed', true],
    ['*', 'order', true],
    ['*', 'order.placed', false],
    ['order.#', 'order', true],
    ['order.#', 'order.placed', true],
    ['order.#', 'order.placed.eu', true],
    ['order.#', 'payment.processed', false],
    ['#', 'anything.at.all', true],
    ['#.dlq', 'order.placed.dlq', true],
    ['#.dlq', 'dlq', true],
    ['#.dlq', 'order.placed', false],
    ['order.#.eu', 'order.eu', true],
    ['order.#.eu', 'order.placed.big.eu', true],
    ['order.#.eu', 'order.placed.us', false],
    ['*.*.dlq', 'order.placed.dlq', true],
    ['#.*', 'order', true],
    ['#.*', 'a.b', true],
    ['*.#', 'a', true],
  ];
  for (const [pattern, topic, expected] of table) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} "${topic}"`, () => {
      assert.equal(compilePattern(pattern)(topic), expected);
    });
  }

  it('rejects malformed patterns and topics with InvalidTopicError', () => {
    for (const bad of ['', 'a..b', 'a.b*', 'a b', 'x'.repeat(256), 42]) {
      assert.throws(() => compilePattern(bad), InvalidTopicError);
    }
    for (const bad of ['', 'order.*', 'order.#', 'a..b', ' ', null]) {
      assert.throws(() => assertTopic(bad), InvalidTopicError);
    }
    assert.doesNotThrow(() => assertTopic('order.placed-v2:eu_1'));
  });
});
