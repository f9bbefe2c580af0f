/**
 * Redrive on the emulator: a message whose consumer fails until `maxReceiveCount` = 2 is moved to the
 * dead-letter queue by the service; its DLQ delivery joins the same journey with reason `delivery_limit`,
 * counted once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { SpanKind } from '@opentelemetry/api';
import { startCollector } from '../../../collector/start.js';
import { receiveAndProcess } from '../../../instrumentation/aws/index.js';
import { metricSum } from '../../helpers/collector.js';
import { aws, clientConfig, link, metricValue, setRedrive, unique } from './helpers.js';

describe('SQS redrive to a dead-letter queue', () => {
  it('shows 2 failed attempts, then the DLQ delivery in the same journey (delivery_limit, counted once)', async (t) => {
    const fx = await aws(t);
    if (!fx) return;
    try {
      const source = unique('payments');
      const dlq = await fx.createQueue(`${source}-dlq`);
      const queue = await fx.createQueue(source, { VisibilityTimeout: '1' });
      await setRedrive(fx.rawSqs, queue.url, dlq.arn, 2);

      await fx.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: '{"payment":1}' }));
      const failure = new Error('card declined');
      const attempts: number[] = [];
      const fail = () => {
        attempts.push(Date.now());
        throw failure;
      };
      // Two failed attempts, each after the 1 s visibility timeout of the one before.
      for (let turn = 0; turn < 10 && attempts.length < 2; turn++) {
        await receiveAndProcess(fx.sqs, { QueueUrl: queue.url, WaitTimeSeconds: 1 }, fail);
      }
      assert.equal(attempts.length, 2);
      // The next receive after the timeout finds the receive count spent: the service moves the message.
      await new Promise((r) => setTimeout(r, 1_100));
      const third = await receiveAndProcess(fx.sqs, { QueueUrl: queue.url, WaitTimeSeconds: 0 }, fail);
      assert.equal(third.received, 0);
      assert.equal(attempts.length, 2);

      // The collector's SQS monitor sees it in the DLQ, by source (the DLQ found from the redrive policy).
      const collector = await startCollector({
        port: 0,
        sqs: { ...clientConfig(), queues: [source], intervalMs: 60_000 },
      });
      try {
        await collector.pollMonitors();
        assert.equal(
          await metricSum(collector.metrics, 'hoptrace_dlq_messages', {
            messaging_system: 'aws_sqs',
            messaging_destination_name: `${source}-dlq`,
            dead_letter_source: source,
          }),
          1,
        );
      } finally {
        await collector.close();
      }
      const fromDlq = await receiveAndProcess(
        fx.sqs,
        { QueueUrl: dlq.url, WaitTimeSeconds: 1 },
        () => undefined,
      );
      assert.deepEqual(fromDlq, { received: 1, processed: 1, failed: 0 });

      const spans = fx.tracing.spans();
      const producer = spans.find((s) => s.kind === SpanKind.PRODUCER);
      assert.ok(producer);
      const traceId = producer.spanContext().traceId;
      const tries = spans.filter((s) => s.name === `process ${source}`);
      assert.deepEqual(
        tries.map((s) => [
          s.attributes['hoptrace.delivery.attempt'],
          s.attributes['hoptrace.outcome'],
          s.attributes['error.type'],
        ]),
        [
          [1, 'retry', 'Error'],
          [2, 'retry', 'Error'],
        ],
      );
      const [dead] = spans.filter((s) => s.name === `process ${source}-dlq`);
      assert.ok(dead);
      assert.equal(dead.spanContext().traceId, traceId);
      assert.equal(dead.parentSpanContext?.spanId, producer.spanContext().spanId);
      assert.equal(dead.attributes['hoptrace.dead_letter.reason'], 'delivery_limit');
      assert.equal(dead.attributes['hoptrace.dead_letter.source'], source);
      assert.equal(dead.attributes['hoptrace.delivery.attempt'], 1);
      assert.equal(dead.attributes['hoptrace.outcome'], 'ack');
      assert.equal(
        dead.attributes['messaging.message.conversation_id'],
        producer.attributes['messaging.message.conversation_id'],
      );

      assert.equal(
        await metricValue(fx.registry, 'hoptrace_dead_lettered_messages_total', { reason: 'delivery_limit' }),
        1,
      );
      assert.equal(await metricValue(fx.registry, 'hoptrace_dead_lettered_messages_total'), 1);
      assert.equal(await metricValue(fx.registry, 'hoptrace_redeliveries_total'), 1);
      assert.equal(
        await metricValue(fx.registry, 'messaging_client_consumed_messages_total', {
          hoptrace_outcome: 'retry',
        }),
        2,
      );

      const { linker } = link(spans);
      const journey = linker.journey(producer.attributes['messaging.message.conversation_id'] as string);
      assert.ok(journey);
      assert.equal(journey.counts.publishes, 1);
      assert.equal(journey.counts.deliveries, 3);
      assert.equal(journey.counts.deadLetters, 1);
      assert.equal(journey.counts.orphans, 0);
    } finally {
      await fx.close();
    }
  });
});
