import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../command.js';
import { parseCollectorFlags } from './collector.js';

describe('hoptrace collector flags: SQS', () => {
  it('watches an emulator or AWS itself', () => {
    const o = parseCollectorFlags([
      '--sqs',
      'http://127.0.0.1:34566',
      '--sqs-queues',
      'a,b',
      '--monitor-interval',
      '5000',
    ]);
    assert.deepEqual(o.sqs, { endpoint: 'http://127.0.0.1:34566', queues: ['a', 'b'], intervalMs: 5000 });
    const aws = parseCollectorFlags(['--sqs', 'aws', '--sqs-region', 'eu-west-1', '--sqs-prefix', 'orders']);
    assert.deepEqual(aws.sqs, { region: 'eu-west-1', queueNamePrefix: 'orders' });
  });

  it('refuses SQS details without --sqs', () => {
    assert.throws(() => parseCollectorFlags(['--sqs-region', 'eu-west-1']), UsageError);
  });
});
