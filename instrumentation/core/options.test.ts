import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_OPTIONS, positiveInt, RULES, resolveOption, throwPolicy, warnPolicy } from './options.js';
import type { Guard } from './safe.js';

function recordingGuard(): Guard & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    logger: undefined as never,
    run: (_step, fn) => fn(),
    do: (_step, fn) => fn(),
    report() {},
    warnOnce: (_key, message) => void warnings.push(message),
  };
}

describe('option resolution', () => {
  it('warn policy: a bad value is warned about and replaced by the default; undefined is silent', () => {
    const guard = recordingGuard();
    const policy = warnPolicy(guard);
    assert.equal(positiveInt(policy, 'maxDestinations', -1, DEFAULT_OPTIONS.maxDestinations), 200);
    assert.equal(positiveInt(policy, 'maxDestinations', undefined, 200), 200);
    assert.equal(positiveInt(policy, 'maxDestinations', 7, 200), 7);
    assert.equal(
      resolveOption(policy, 'linkMode', 'sideways', RULES.oneOf('parent', 'link'), 'parent', "'parent'"),
      'parent',
    );
    assert.deepEqual(guard.warnings, [
      'option maxDestinations is invalid; using 200',
      "option linkMode is invalid; using 'parent'",
    ]);
  });

  it('throw policy: a bad value throws the caller-made error naming the option, the rule and the value', () => {
    const policy = throwPolicy((message) => new RangeError(`config: ${message}`));
    assert.equal(positiveInt(policy, 'limits.x', undefined, 5), 5);
    assert.throws(
      () => positiveInt(policy, 'limits.x', 1.5, 5),
      (err: unknown) =>
        err instanceof RangeError && err.message === 'config: limits.x must be a positive integer, got 1.5',
    );
    assert.throws(
      () => resolveOption(policy, 'overflow', 'drop', RULES.oneOf('wait', 'reject'), 'wait'),
      /overflow must be 'wait' or 'reject', got drop/,
    );
  });

  it('rules accept exactly their values', () => {
    assert.deepEqual(
      [1, 0, -1, 1.5, '1', Number.NaN].map((v) => RULES.positiveInt.accepts(v)),
      [true, false, false, false, false, false],
    );
    assert.deepEqual(
      [0, 2.5, -1, Number.POSITIVE_INFINITY].map((v) => RULES.nonNegativeNumber.accepts(v)),
      [true, true, false, false],
    );
    assert.deepEqual(
      ['x-correlation-id', 'bad header', '', 'a'.repeat(129)].map((v) => RULES.headerName.accepts(v)),
      [true, false, false, false],
    );
  });
});
