import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration, scaleDuration } from './duration.js';

describe('durations', () => {
  it('parses Prometheus durations into seconds', () => {
    assert.equal(parseDuration('90s'), 90);
    assert.equal(parseDuration('1h30m'), 5400);
    assert.equal(parseDuration('3d'), 259200);
    assert.equal(parseDuration('1w'), 604800);
    assert.equal(parseDuration('500ms'), 0.5);
  });

  it('rejects what Prometheus would reject', () => {
    assert.throws(() => parseDuration('5 m'), /not a Prometheus duration/);
    assert.throws(() => parseDuration('1.5h'), /not a Prometheus duration/);
    assert.throws(() => parseDuration(''), /not a Prometheus duration/);
  });

  it('formats seconds as the shortest duration', () => {
    assert.equal(formatDuration(5400), '1h30m');
    assert.equal(formatDuration(259200), '3d');
    assert.equal(formatDuration(15), '15s');
    assert.equal(formatDuration(0), '0s');
  });

  it('scales by a factor with a floor, and leaves factor 1 untouched', () => {
    assert.equal(scaleDuration('10m', 0.05, 1), '30s');
    assert.equal(scaleDuration('3d', 0.05, 1), '3h36m');
    assert.equal(scaleDuration('2m', 0.001, 5), '5s');
    assert.equal(scaleDuration('1h', 1, 5), '1h');
  });
});
