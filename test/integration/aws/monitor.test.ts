/**
 * The collector's SQS monitor on the emulator: visible, in-flight and delayed counts, consumer lag in
 * messages, and dead-letter queues found from each queue's `RedrivePolicy`, as the queues report them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { startCollector } from '../../../collector/start.js';
import { metricSum } from '../../helpers/collector.js';
import { aws, clientConfig, setRedrive, unique } from './helpers.js';

describe('the collector watching SQS', () => {
  it('reports visible, in-flight, delayed, lag and the DLQ depth by source', async (t) => {
    const fx = await aws(t);
    if (!fx) return;
    const prefix = unique('mon');
    const collector = await startCollector({
      port: 0,
      sqs: {
        endpoint: clientConfig().endpoint,
        region: 'us-east-1',
        credentials: clientConfig().credentials,
        queueNamePrefix: `${prefix}-orders`,
        intervalMs: 60_000,
      },
    });
    try {
      const dlq = await fx.createQueue(`${prefix}-dead`);
      const orders = await fx.createQueue(`${prefix}-orders`);
      await setRedrive(fx.rawSqs, orders.url, dlq.arn, 3);
      for (const body of ['a', 'b', 'c']) {
        await fx.rawSqs.send(new SendMessageCommand({ QueueUrl: orders.url, MessageBody: body }));
      }
      await fx.rawSqs.send(
        new SendMessageCommand({ QueueUrl: orders.url, MessageBody: 'later', DelaySeconds: 60 }),
      );
      const inFlight = await fx.rawSqs.send(
        new ReceiveMessageCommand({ QueueUrl: orders.url, MaxNumberOfMessages: 1, VisibilityTimeout: 60 }),
      );
      assert.equal(inFlight.Messages?.length, 1);
      await fx.rawSqs.send(new SendMessageCommand({ QueueUrl: dlq.url, MessageBody: 'dead' }));

      await collector.pollMonitors();
      const m = collector.metrics;
      const q = (state: string, destination: string) =>
        metricSum(m, 'hoptrace_queue_messages', {
          messaging_system: 'aws_sqs',
          messaging_destination_name: destination,
          state,
        });
      const name = `${prefix}-orders`;
      assert.equal(await q('ready', name), 2);
      assert.equal(await q('unacked', name), 1);
      assert.equal(await q('delayed', name), 1);
      assert.equal(
        await metricSum(m, 'hoptrace_consumer_lag_messages', {
          messaging_system: 'aws_sqs',
          messaging_destination_name: name,
        }),
        2,
      );
      // The DLQ is outside the prefix: found through the redrive policy and read anyway.
      assert.equal(
        await metricSum(m, 'hoptrace_dlq_messages', {
          messaging_system: 'aws_sqs',
          messaging_destination_name: `${prefix}-dead`,
          dead_letter_source: name,
        }),
        1,
      );
      assert.equal(await metricSum(m, 'hoptrace_collector_up', { source: 'sqs' }), 1);
    } finally {
      await collector.close();
      await fx.close();
    }
  });

  it('reports the source down, not a crash, when the endpoint does not answer', async () => {
    const collector = await startCollector({
      port: 0,
      sqs: {
        endpoint: 'http://127.0.0.1:1',
        region: 'us-east-1',
        credentials: clientConfig().credentials,
        intervalMs: 60_000,
      },
    });
    try {
      await collector.pollMonitors();
      assert.equal(await metricSum(collector.metrics, 'hoptrace_collector_up', { source: 'sqs' }), 0);
    } finally {
      await collector.close();
    }
  });
});
