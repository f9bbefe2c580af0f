import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { amqpUrl, rabbit, unique } from './helpers.js';

const run = promisify(execFile);
const child = join(import.meta.dirname, 'fixtures', 'handler-failure.js');

interface Observed {
  events: Record<string, unknown>[];
  state: Record<string, unknown>;
  spans: { name: string; outcome: unknown; errorType: unknown; status: number }[];
  consumed?: { outcome: string; error: string; value: number }[];
}

async function observe(mode: 'raw' | 'wrapped', failure: string, queue: string): Promise<Observed> {
  const { stdout } = await run(process.execPath, [child, mode, failure, amqpUrl(), queue], {
    timeout: 20_000,
  });
  return JSON.parse(stdout) as Observed;
}

describe('a failing consume handler behaves exactly as without hoptrace', () => {
  const cases = [
    {
      failure: 'throw',
      // amqplib closes the channel with 541 and emits the handler's own error; the broker requeues.
      expected: { event: 'error', same: true, code: 541 },
      requeued: true,
    },
    { failure: 'reject', expected: { event: 'unhandledRejection', same: true }, requeued: false },
    // A promise from another realm (vm context, jest sandbox) is observed like a native one.
    { failure: 'reject-foreign', expected: { event: 'unhandledRejection', same: true }, requeued: false },
    {
      failure: 'throw-handler-error',
      expected: { event: 'handler-error', eventName: 'delivery', same: true },
      requeued: false,
    },
  ];
  for (const { failure, expected, requeued } of cases) {
    it(`handler ${failure}: same events, same error object, same broker state`, async (t) => {
      const fx = await rabbit(t);
      if (!fx) return;
      try {
        const queues = [unique(`fail-raw`), unique(`fail-wrapped`)];
        for (const q of queues) await fx.admin.assertQueue(q, { autoDelete: false });
        const [raw, wrapped] = await Promise.all([
          observe('raw', failure, queues[0]!),
          observe('wrapped', failure, queues[1]!),
        ]);
        assert.deepEqual(wrapped.events, raw.events);
        assert.deepEqual(wrapped.state, raw.state);
        assert.ok(
          raw.events.some((e) => Object.entries(expected).every(([k, v]) => e[k] === v)),
          JSON.stringify(raw.events),
        );
        assert.equal(raw.state.queueHasMessage, requeued);
        assert.equal(raw.spans.length, 0);
        // ...and hoptrace recorded the failure.
        assert.deepEqual(
          wrapped.spans.map(({ outcome, errorType, status }) => ({ outcome, errorType, status })),
          [{ outcome: 'error', errorType: 'HandlerFailure', status: 2 }],
        );
        assert.deepEqual(wrapped.consumed, [{ outcome: 'error', error: 'HandlerFailure', value: 1 }]);
      } finally {
        await fx.close();
      }
    });
  }
});
