import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StackError, waitUntilReady, withBasicAuth } from './ready.js';

test('readiness that never comes fails naming the server, the last error and the log file', async () => {
  const started = Date.now();
  await assert.rejects(
    waitUntilReady(() => Promise.reject(new Error('ECONNREFUSED')), {
      server: 'kafka',
      logFile: '/x/logs/kafka.log',
      timeoutMs: 300,
      intervalMs: 50,
    }),
    (err: unknown) => {
      assert.ok(err instanceof StackError);
      assert.equal(err.server, 'kafka');
      assert.match(
        err.message,
        /^kafka was not ready within 0\.3 s \(last check: ECONNREFUSED\); see \/x\/logs\/kafka\.log$/,
      );
      return true;
    },
  );
  assert.ok(Date.now() - started >= 300);
});

test('waiting stops at once when the process exits', async () => {
  const started = Date.now();
  await assert.rejects(
    waitUntilReady(() => Promise.reject(new Error('no')), {
      server: 'rabbitmq',
      logFile: '/x/r.log',
      timeoutMs: 10_000,
      intervalMs: 20,
      exited: Promise.resolve('1'),
    }),
    /rabbitmq exited \(1\) before it was ready; see \/x\/r\.log/,
  );
  assert.ok(Date.now() - started < 2000);
});

test('readiness resolves on the first successful probe', async () => {
  let calls = 0;
  await waitUntilReady(
    async () => {
      calls += 1;
      if (calls < 3) throw new Error('not yet');
    },
    { server: 's', logFile: 'l', timeoutMs: 5000, intervalMs: 10 },
  );
  assert.equal(calls, 3);
});

test('credentials move from the URL into a basic Authorization header', () => {
  assert.deepEqual(withBasicAuth('http://guest:guest@127.0.0.1:35673/api/overview'), {
    href: 'http://127.0.0.1:35673/api/overview',
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
  });
  assert.deepEqual(withBasicAuth('http://127.0.0.1:39090/-/ready'), {
    href: 'http://127.0.0.1:39090/-/ready',
    headers: {},
  });
});
