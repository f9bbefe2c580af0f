/**
 * Differential test on Google's fake server: one scripted scenario run without hoptrace and with it must
 * look the same to the application (deliveries and their attempts, attributes, ack/nack calls, listener
 * errors and unhandled rejections, dead letters), and hoptrace's own records must add up.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { uniqueName } from '../../helpers/stack.js';
import type { Observation } from './fixtures/scenario.js';
import { emulatorHost, requirePubSub } from './helpers.js';

const run = promisify(execFile);

async function scenario(mode: 'raw' | 'hoptrace'): Promise<Observation> {
  const script = join(import.meta.dirname, 'fixtures', 'scenario.js');
  const { stdout } = await run(process.execPath, [script, mode, emulatorHost(), uniqueName(`diff-${mode}`)], {
    timeout: 40_000,
  });
  return JSON.parse(stdout) as Observation;
}

test('Pub/Sub: the scripted scenario is identical with and without hoptrace', {
  timeout: 90_000,
}, async (t) => {
  if (!(await requirePubSub(t))) return;
  const [raw, traced] = await Promise.all([scenario('raw'), scenario('hoptrace')]);
  const { spans, consumed, sent, ...seenByApp } = traced;
  assert.deepEqual(seenByApp, raw, 'the application sees the same run');

  // The scenario exercised every path.
  assert.equal(raw.published, 14);
  assert.equal(Object.keys(raw.deliveries).length, 14);
  assert.deepEqual(raw.deliveries['1']!.attempts, [1, 2]);
  assert.deepEqual(raw.deliveries['5']!.attempts, [1, 2, 3]);
  assert.deepEqual(raw.calls, { ack: 10, nack: 2 + 2 * 3, ackWithResponse: 2 });
  assert.deepEqual(raw.responses, ['SUCCESS', 'SUCCESS']);
  assert.equal(raw.errors.filter((e) => e.via === 'unhandledRejection').length, 2);
  assert.equal(raw.errors.filter((e) => e.via.startsWith('debug')).length, 2);
  assert.deepEqual(
    raw.deadLetters.map((d) => d.n),
    ['12', '5'],
  );

  // hoptrace's records add up to what happened: 20 deliveries on the work subscription.
  assert.equal(sent, 14);
  const workSub = Object.keys(consumed!)
    .find((k) => k.endsWith(':dead_letter'))!
    .split(':')[0]!;
  const workSpans = spans!.filter((s) => s.name === `process ${workSub}`);
  assert.equal(workSpans.length, 20);
  assert.equal(workSpans.filter((s) => s.outcome === 'dead_letter' && s.attempt === 3).length, 2);
  assert.deepEqual(
    Object.fromEntries(Object.entries(consumed!).filter(([k]) => k.startsWith(`${workSub}:`))),
    { [`${workSub}:ack`]: 12, [`${workSub}:requeue`]: 2 + 2 * 2, [`${workSub}:dead_letter`]: 2 },
  );
});
