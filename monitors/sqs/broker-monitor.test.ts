import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../collector/config.js';
import { deadLetterTargets, queueNameOfArnOrUrl, sqsReading } from './broker-monitor.js';

const url = (name: string) => `http://127.0.0.1:34566/123456789012/${name}`;
const redrive = (target: string) =>
  JSON.stringify({ deadLetterTargetArn: `arn:aws:sqs:us-east-1:123456789012:${target}`, maxReceiveCount: 3 });

describe('SQS monitor readings', () => {
  it('maps queue attributes to depths, lag and dead-letter sources', () => {
    const reading = sqsReading([
      {
        url: url('orders'),
        attributes: {
          ApproximateNumberOfMessages: '4',
          ApproximateNumberOfMessagesNotVisible: '2',
          ApproximateNumberOfMessagesDelayed: '1',
          RedrivePolicy: redrive('orders-dlq'),
        },
      },
      {
        url: url('refunds'),
        attributes: { ApproximateNumberOfMessages: '0', RedrivePolicy: redrive('orders-dlq') },
      },
      {
        url: url('orders-dlq'),
        attributes: { ApproximateNumberOfMessages: '5', ApproximateNumberOfMessagesNotVisible: 'x' },
      },
    ]);
    assert.equal(reading.system, 'aws_sqs');
    assert.deepEqual(reading.queues?.[0], {
      destination: 'orders',
      ready: 4,
      unacked: 2,
      delayed: 1,
      deadLetterSources: undefined,
      messages: 7,
    });
    assert.deepEqual(reading.queues?.[2]?.deadLetterSources, ['orders', 'refunds']);
    assert.equal(reading.queues?.[2]?.unacked, 0);
    assert.deepEqual(reading.lag?.[0], { destination: 'orders', group: '', partition: '', messages: 4 });
  });

  it('ignores broken redrive policies', () => {
    assert.equal(deadLetterTargets([{ url: url('a'), attributes: { RedrivePolicy: '{' } }]).size, 0);
    assert.equal(queueNameOfArnOrUrl('arn:aws:sqs:us-east-1:1:q.fifo'), 'q.fifo');
  });

  it('resolves the collector option and rejects bad values', () => {
    const config = resolveConfig({ sqs: { endpoint: 'http://127.0.0.1:34566', queues: ['orders'] } });
    assert.equal(config.sqs?.endpoint, 'http://127.0.0.1:34566/');
    assert.equal(config.sqs?.intervalMs, 15_000);
    assert.throws(() => resolveConfig({ sqs: { queues: [''] } }), /sqs.queues/);
    assert.throws(() => resolveConfig({ sqs: { bogus: 1 } as never }), /unknown option/);
    assert.equal(resolveConfig({}).sqs, undefined);
  });
});
