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

describe('hoptrace collector flags: Pub/Sub', () => {
  it('watches a project, on an emulator when one is given', () => {
    const o = parseCollectorFlags(
      ['--pubsub', 'my-project', '--pubsub-subscriptions', 'billing,audit', '--monitor-interval', '5000'],
      { PUBSUB_EMULATOR_HOST: '127.0.0.1:38085' },
    );
    assert.deepEqual(o.pubsub, {
      projectId: 'my-project',
      emulatorHost: '127.0.0.1:38085',
      subscriptions: ['billing', 'audit'],
      intervalMs: 5000,
    });
    assert.deepEqual(parseCollectorFlags(['--pubsub', 'my-project'], {}).pubsub, { projectId: 'my-project' });
  });

  it('refuses Pub/Sub details without --pubsub', () => {
    assert.throws(() => parseCollectorFlags(['--pubsub-emulator', '127.0.0.1:38085'], {}), UsageError);
  });
});
