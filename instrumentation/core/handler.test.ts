import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { SpanStatusCode } from '@opentelemetry/api';
import { createTestTracing } from '../../test/helpers/tracing.js';
import { startDelivery } from './delivery.js';
import { runHandler, runHandlerAwaited } from './handler.js';
import { createInstrumentation } from './instrumentation.js';
import { createOpenMetricsRegistry } from './metrics.js';
import { guardFor } from './safe.js';

function setup() {
  const tracing = createTestTracing();
  const instr = createInstrumentation('test', 'hoptrace.bus', {
    tracerProvider: tracing.provider,
    registry: createOpenMetricsRegistry(),
  });
  const delivery = startDelivery(instr, { destination: 'orders', message: null, settleTimeoutMs: false });
  const calls: string[] = [];
  const outcome = {
    succeeded: () => void calls.push('succeeded'),
    failed: (error: unknown) => void calls.push(`failed:${String((error as Error)?.message ?? error)}`),
  };
  return { tracing, instr, delivery, calls, outcome };
}

const guard = guardFor('test');
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('runHandler', () => {
  it('returns the same value and reports success once', () => {
    const { delivery, calls, outcome } = setup();
    const value = { ok: true };
    assert.equal(
      runHandler(guard, delivery, () => value, outcome),
      value,
    );
    assert.deepEqual(calls, ['succeeded']);
  });

  it('rethrows a synchronous error as the same object, after reporting it once', () => {
    const { delivery, calls, outcome } = setup();
    const error = new Error('boom');
    assert.throws(
      () =>
        runHandler(
          guard,
          delivery,
          () => {
            throw error;
          },
          outcome,
        ),
      (thrown: unknown) => thrown === error,
    );
    assert.deepEqual(calls, ['failed:boom']);
  });

  it('returns the handler promise itself and reports its rejection once, with the same error', async () => {
    const { delivery, calls, outcome } = setup();
    const error = new Error('later');
    const promise = Promise.reject(error);
    const returned = runHandler(guard, delivery, () => promise, outcome);
    assert.equal(returned, promise);
    await assert.rejects(returned, (thrown: unknown) => thrown === error);
    assert.deepEqual(calls, ['failed:later']);
  });

  it('awaits a promise from another realm (vm context) like a native one', async () => {
    const { delivery, calls, outcome } = setup();
    let resolve!: (v: unknown) => void;
    const foreign = runInNewContext('new Promise((r) => { settle = r; })', {
      set settle(fn: (v: unknown) => void) {
        resolve = fn;
      },
    }) as Promise<unknown>;
    assert.equal(foreign instanceof Promise, false, 'the promise really is from another realm');
    const returned = runHandler(guard, delivery, () => foreign, outcome);
    assert.equal(returned, foreign);
    await tick();
    assert.deepEqual(calls, [], 'nothing reported before the foreign promise settles');
    resolve('done');
    await returned;
    await tick();
    assert.deepEqual(calls, ['succeeded']);
  });

  it('reports a rejection from another realm with the very error object', async () => {
    const { delivery, calls, outcome } = setup();
    const foreign = runInNewContext('Promise.reject(new Error("foreign"))') as Promise<unknown>;
    let seen: unknown;
    const returned = runHandler(guard, delivery, () => foreign, {
      succeeded: outcome.succeeded,
      failed: (error) => {
        seen = error;
        outcome.failed(error);
      },
    });
    const thrown = await returned.then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.equal(seen, thrown, 'the same object reaches the outcome and the caller');
    assert.deepEqual(calls, ['failed:foreign']);
  });

  it('reports once when a thenable calls back twice and both ways', async () => {
    const { delivery, calls, outcome } = setup();
    const thenable = {
      // biome-ignore lint/suspicious/noThenProperty: a misbehaving thenable is what this test is about.
      then(ok: (v: unknown) => void, fail: (e: unknown) => void) {
        ok(1);
        ok(2);
        fail(new Error('late'));
      },
    };
    runHandler(guard, delivery, () => thenable, outcome);
    assert.deepEqual(calls, ['succeeded']);
  });

  it('keeps an observed rejection unhandled when asked to (the client drops the promise)', () => {
    // In a child process: the test runner fails any test that leaves a rejection unhandled.
    const script = `
      const { runHandler } = await import(${JSON.stringify(new URL('./handler.js', import.meta.url).href)});
      const { guardFor } = await import(${JSON.stringify(new URL('./safe.js', import.meta.url).href)});
      const error = new Error('dropped');
      const seen = [];
      process.on('unhandledRejection', (reason) => seen.push(reason === error));
      const scope = { run: (fn) => fn() };
      const outcome = { succeeded() {}, failed() {} };
      runHandler(guardFor('test'), scope, () => Promise.reject(error), outcome, { keepRejectionUnhandled: true });
      runHandler(guardFor('test'), scope, () => Promise.reject(new Error('observed')), outcome);
      setTimeout(() => console.log(JSON.stringify(seen)), 20);`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(
      run.stdout.trim(),
      '[true]',
      'the same reason, once; an observed one without the option: none',
    );
  });

  it('ignores a throwing outcome callback: the user sees only their own result', () => {
    const { delivery } = setup();
    const result = runHandler(guard, delivery, () => 7, {
      succeeded() {
        throw new Error('hoptrace bug');
      },
      failed() {},
    });
    assert.equal(result, 7);
  });

  it('marks the span failed when the handler fails after settling', async () => {
    const { tracing, instr } = setup();
    const delivery = startDelivery(instr, { destination: 'q', message: null });
    const error = new TypeError('after ack');
    assert.throws(() =>
      runHandler(
        guard,
        delivery,
        () => {
          delivery.settle('ack');
          throw error;
        },
        { succeeded() {}, failed() {} },
      ),
    );
    const [span] = tracing.spans();
    assert.equal(span?.status.code, SpanStatusCode.ERROR);
    assert.equal(span?.attributes['error.type'], 'TypeError');
    assert.equal(span?.attributes['hoptrace.outcome'], 'ack');
  });
});

describe('runHandlerAwaited', () => {
  it('resolves after success; rejects with the same error unless the failure was handled', async () => {
    const { delivery, calls, outcome } = setup();
    await runHandlerAwaited(guard, delivery, async () => 1, { ...outcome, failed: () => false });
    assert.deepEqual(calls, ['succeeded']);

    const error = new Error('retry me');
    const second = setup();
    await assert.rejects(
      runHandlerAwaited(
        guard,
        second.delivery,
        () => {
          throw error;
        },
        { succeeded() {}, failed: () => false },
      ),
      (thrown: unknown) => thrown === error,
    );

    const third = setup();
    await runHandlerAwaited(guard, third.delivery, () => Promise.reject(error), {
      succeeded() {},
      failed: async () => true,
    });
  });

  it('adopts a foreign-realm promise', async () => {
    const { delivery, calls, outcome } = setup();
    const foreign = runInNewContext('Promise.resolve(5)') as Promise<number>;
    await runHandlerAwaited(guard, delivery, () => foreign, { ...outcome, failed: () => false });
    assert.deepEqual(calls, ['succeeded']);
  });
});
