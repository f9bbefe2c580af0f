import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCollectorFlags } from '../../cli/commands/collector.js';
import { resolveConfig } from '../../collector/config.js';
import { bullmqReading, type QueueCounts } from './broker-monitor.js';

const counts = (over: Partial<QueueCounts> = {}): QueueCounts => ({
  wait: 0,
  pausedList: 0,
  active: 0,
  delayed: 0,
  prioritized: 0,
  waitingChildren: 0,
  completed: 0,
  failed: 0,
  paused: false,
  oldestDueAt: undefined,
  ...over,
});

describe('BullMQ monitor readings', () => {
  it('maps BullMQ states onto the queue, lag and dead-letter gauges', () => {
    const now = 1_700_000_010_000;
    const reading = bullmqReading(
      new Map([
        [
          'emails',
          counts({ wait: 3, prioritized: 2, active: 1, delayed: 4, failed: 5, oldestDueAt: now - 7_500 }),
        ],
      ]),
      now,
    );
    assert.equal(reading.system, 'bullmq');
    assert.deepEqual(reading.queues, [
      {
        destination: 'emails',
        ready: 3,
        unacked: 1,
        delayed: 4,
        oldestAgeSeconds: 7.5,
        states: { prioritized: 2, waiting_children: 0, completed: 0 },
        paused: false,
      },
      { destination: 'emails:failed', ready: 5, unacked: 0, deadLetterSources: ['emails'], messages: 5 },
    ]);
    assert.deepEqual(reading.lag, [
      { destination: 'emails', group: '', partition: '', messages: 5, seconds: 7.5 },
    ]);
  });

  it('an empty queue has no lag; a paused queue keeps its jobs waiting', () => {
    const reading = bullmqReading(
      new Map([
        ['idle', counts()],
        ['held', counts({ pausedList: 2, paused: true, oldestDueAt: 1_000 })],
      ]),
      3_000,
    );
    assert.deepEqual(
      reading.lag?.map((l) => [l.destination, l.messages, l.seconds]),
      [
        ['idle', 0, 0],
        ['held', 2, 2],
      ],
    );
    assert.deepEqual(
      reading.queues?.map((q) => [q.destination, q.ready, q.paused]),
      [
        ['idle', 0, false],
        ['idle:failed', 0, undefined],
        ['held', 2, true],
        ['held:failed', 0, undefined],
      ],
    );
  });

  it('is configured by --bullmq, and bad settings fail at startup', () => {
    const options = parseCollectorFlags(
      ['--bullmq', 'redis://127.0.0.1:6379', '--bullmq-queues', 'a,b', '--monitor-interval', '500'],
      {},
    );
    assert.deepEqual(options.bullmq, { url: 'redis://127.0.0.1:6379', queues: ['a', 'b'], intervalMs: 500 });
    assert.deepEqual(resolveConfig(options).bullmq, {
      url: 'redis://127.0.0.1:6379',
      prefix: 'bull',
      queues: ['a', 'b'],
      intervalMs: 500,
    });
    assert.throws(() => parseCollectorFlags(['--bullmq-queues', 'a'], {}), /need --bullmq/);
    assert.throws(() => resolveConfig({ bullmq: { url: 'http://x' } }), /redis:\/\//);
    assert.throws(() => resolveConfig({ bullmq: { url: 'redis://x', queues: [] } }), /queues/);
  });
});
