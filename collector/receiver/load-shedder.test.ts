import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoadShedder } from './load-shedder.js';

function shedderWith(samples: number[]) {
  let i = 0;
  const shedder = new LoadShedder({
    busyPercent: 90,
    intervalMs: 60_000,
    utilization: () => samples[i++] ?? 0,
  });
  return shedder;
}

function refusedOf(shedder: LoadShedder, requests: number): number {
  let refused = 0;
  for (let i = 0; i < requests; i++) if (shedder.shouldRefuse()) refused++;
  return refused;
}

describe('LoadShedder', () => {
  it('refuses nothing while the event loop has room', () => {
    const shedder = shedderWith([0.5, 0.89, 0.2]);
    for (let i = 0; i < 3; i++) shedder.sample();
    assert.equal(refusedOf(shedder, 1000), 0);
    shedder.close();
  });

  it('refuses a growing, exact share while saturated, capped at 95 %, and recovers when calm', () => {
    const shedder = shedderWith([1, 1, 0.99, 1, 1, 1, 1, 1, 0.5, 0.5]);
    shedder.sample();
    assert.equal(refusedOf(shedder, 100), 15);
    shedder.sample();
    assert.equal(refusedOf(shedder, 100), 30);
    for (let i = 0; i < 6; i++) shedder.sample();
    assert.equal(shedder.refusedShare, 0.95);
    assert.equal(refusedOf(shedder, 1000), 950);
    shedder.sample();
    shedder.sample();
    assert.ok(Math.abs(shedder.refusedShare - 0.65) < 1e-9);
    shedder.close();
  });

  it('holds its share between the calm margin and the threshold (no flapping)', () => {
    const shedder = shedderWith([1, 0.8, 0.8]);
    shedder.sample();
    shedder.sample();
    shedder.sample();
    assert.equal(shedder.refusedShare, 0.15);
    shedder.close();
  });

  it('never refuses at busyPercent 100', () => {
    const shedder = new LoadShedder({ busyPercent: 100, utilization: () => 1 });
    shedder.sample();
    assert.equal(refusedOf(shedder, 100), 0);
  });
});
