import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../command.js';
import { formatLagTable, parseLagArgs } from './lag.js';

describe('hoptrace lag', () => {
  it('parses flags, repeated groups and the broker variable', () => {
    assert.deepEqual(
      parseLagArgs(['--brokers', 'a:1,b:2', '--group', 'x', '--group', 'y', '--watch', '--interval', '250']),
      {
        brokers: ['a:1', 'b:2'],
        groups: ['x', 'y'],
        watch: true,
        intervalMs: 250,
        windowSize: 10,
      },
    );
    assert.deepEqual(parseLagArgs([], { HOPTRACE_KAFKA_BROKERS: 'k:9092' }).brokers, ['k:9092']);
  });

  it('rejects bad input with a usage error', () => {
    for (const argv of [
      [],
      ['--brokers', 'nohost'],
      ['--brokers', 'a:1', '--interval', 'x'],
      ['--brokers', 'a:1', '--nope'],
    ]) {
      assert.throws(() => parseLagArgs(argv, {}), UsageError, argv.join(' '));
    }
  });

  it('prints one row per partition, a dash row for groups without commits, and errors', () => {
    const table = formatLagTable({
      at: 0,
      groups: [
        {
          group: 'billing',
          state: 'Stable',
          members: 1,
          status: 'STALL',
          totalLag: 4,
          partitions: [
            {
              topic: 'orders',
              partition: 0,
              committedOffset: '6',
              highWatermark: '10',
              lowWatermark: '0',
              lag: 4,
              lagSeconds: 12.5,
              lagSecondsSource: 'interpolated',
              status: 'STALL',
            },
          ],
        },
        { group: 'idle', state: 'Stable', members: 1, status: undefined, totalLag: 0, partitions: [] },
      ],
      errors: [{ group: 'gone', message: 'coordinator not available' }],
    });
    assert.equal(
      table,
      [
        'GROUP    STATUS  TOPIC   PARTITION  COMMITTED  HIGH  LAG  LAG_SECONDS',
        'billing  STALL   orders  0          6          10    4    ~12.5',
        'idle     -       -       -          -          -     -    -',
        'error (gone): coordinator not available',
      ].join('\n'),
    );
  });
});
