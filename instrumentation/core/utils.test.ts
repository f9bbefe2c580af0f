import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPromiseLike, shallowCopy } from './utils.js';

describe('shallowCopy', () => {
  it('copies own enumerable properties, symbols included, and never the source itself', () => {
    const tag = Symbol('tag');
    const source = { a: 1, b: 'two', [tag]: true };
    const copy = shallowCopy(source);
    assert.deepEqual(copy, source);
    assert.notEqual(copy, source);
    (copy as Record<string, unknown>).c = 3;
    assert.equal((source as Record<string, unknown>).c, undefined);
  });

  it('gives an empty object for null and undefined', () => {
    assert.deepEqual(shallowCopy(undefined), {});
    assert.deepEqual(shallowCopy(null), {});
  });

  it('copies an own __proto__ key as data, as spread does, not as the prototype', () => {
    const source = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Record<string, unknown>;
    const copy = shallowCopy(source);
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
    assert.equal((copy as { polluted?: boolean }).polluted, undefined);
    assert.deepEqual(Object.keys(copy), Object.keys({ ...source }));
    assert.deepEqual(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value, { polluted: true });
  });
});

describe('isPromiseLike', () => {
  it('accepts promises and thenables, nothing else', () => {
    assert.equal(isPromiseLike(Promise.resolve()), true);
    // biome-ignore lint/suspicious/noThenProperty: a thenable that is not a Promise is the case under test.
    const thenable = { then() {} };
    assert.equal(isPromiseLike(thenable), true);
    for (const value of [undefined, null, 1, 'then', {}, () => undefined])
      assert.equal(isPromiseLike(value), false);
  });
});
