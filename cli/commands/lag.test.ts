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
        topics: undefined,
        watch: true,
        intervalMs: 250,
        windowMs: 30_000,
        sampleMs: 5000,
        connection: {},
      },
    );
    const regex = parseLagArgs(['--brokers', 'a:1', '--group-regex', '^bill', '--topic-regex', 'orders$']);
    assert.ok(regex.groups instanceof RegExp && regex.groups.test('billing') && !regex.groups.test('xbill'));
    assert.ok(regex.topics?.test('eu.orders'));
    assert.deepEqual(parseLagArgs([], { HOPTRACE_KAFKA_BROKERS: 'k:9092' }).brokers, ['k:9092']);
  });

  it('rejects bad input with a usage error', () => {
    for (const argv of [
      [],
      ['--brokers', 'nohost'],
      ['--brokers', 'a:1', '--interval', 'x'],
      ['--brokers', 'a:1', '--nope'],
      ['--brokers', 'a:1', '--group-regex', '('],
      ['--brokers', 'a:1', '--group', 'x', '--group-regex', 'y'],
      ['--brokers', 'a:1', '--sasl-mechanism', 'gssapi', '--sasl-username', 'u'],
      ['--brokers', 'a:1', '--sasl-mechanism', 'plain'],
      ['--brokers', 'a:1', '--sasl-mechanism', 'plain', '--sasl-username', 'u'], // no password variable
    ]) {
      assert.throws(() => parseLagArgs(argv, {}), UsageError, argv.join(' '));
    }
  });

  it('builds kafkajs ssl and sasl options, the password from the environment', () => {
    const env = { HOPTRACE_KAFKA_SASL_PASSWORD: 'secret' };
    assert.deepEqual(
      parseLagArgs(
        ['--brokers', 'a:1', '--tls', '--sasl-mechanism', 'scram-sha-512', '--sasl-username', 'app'],
        env,
      ).connection,
      { ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'app', password: 'secret' } },
    );
    assert.deepEqual(parseLagArgs(['--brokers', 'a:1', '--tls-insecure'], env).connection, {
      ssl: { rejectUnauthorized: false },
    });
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
          settled: true,
          totalLag: 4,
          lostMessages: 2,
          uncommitted: [{ topic: 'orders', partitions: [1, 2] }],
          partitions: [
            {
              topic: 'orders',
              partition: 0,
              committedOffset: '6',
              highWatermark: '10',
              lowWatermark: '8',
              lag: 4,
              lostMessages: 2,
              caughtUp: false,
              lagSeconds: 12.5,
              lagSecondsSource: 'interpolated',
              lagSecondsGrowing: true,
              status: 'STALL',
              settled: true,
            },
          ],
        },
        {
          group: 'idle',
          state: 'Stable',
          members: 1,
          status: undefined,
          settled: true,
          totalLag: 0,
          lostMessages: 0,
          partitions: [],
          uncommitted: [],
        },
        {
          group: 'young',
          state: 'Stable',
          members: 1,
          status: 'OK',
          settled: false,
          totalLag: 0,
          lostMessages: 0,
          partitions: [],
          uncommitted: [],
        },
      ],
      errors: [{ group: 'gone', message: 'coordinator not available' }],
    });
    assert.equal(
      table,
      [
        'GROUP    STATUS  TOPIC   PARTITION  START  COMMITTED  HIGH  LAG  LOST  LAG_SECONDS',
        'billing  STALL   orders  0          8      6          10    4    2     ~12.5',
        'idle     -       -       -          -      -          -     -    -     -',
        'young    n/a     -       -          -      -          -     -    -     -',
        'DATA LOSS: group billing orders/0: 2 messages deleted before the group read them',
        'uncommitted: group billing orders partitions 1,2',
        'error (gone): coordinator not available',
      ].join('\n'),
    );
  });
});
