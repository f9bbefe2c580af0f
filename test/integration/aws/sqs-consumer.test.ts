/**
 * `sqs-consumer` traced with no change but the wrapped client: process spans in the producers' traces,
 * `ack` on delete, `requeue` on `terminateVisibilityTimeout`, the redelivery counted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { SpanKind } from '@opentelemetry/api';
import { Consumer } from 'sqs-consumer';
import { aws, metricValue, unique, waitFor } from './helpers.js';

describe('sqs-consumer on an instrumented client', () => {
  it('traces each message from receive to delete, and a failed attempt to its redelivery', async (t) => {
    const fx = await aws(t);
    if (!fx) return;
    const queue = await fx.createQueue(unique('consumer'), { VisibilityTimeout: '1' });
    let failedOnce = false;
    const handled: string[] = [];
    const consumer = Consumer.create({
      queueUrl: queue.url,
      sqs: fx.sqs,
      waitTimeSeconds: 1,
      pollingWaitTimeMs: 10,
      terminateVisibilityTimeout: true,
      handleMessage: async (message) => {
        if (message.Body === 'two' && !failedOnce) {
          failedOnce = true;
          throw new Error('first try fails');
        }
        handled.push(message.Body as string);
        return message;
      },
    });
    consumer.on('error', () => undefined);
    consumer.on('processing_error', () => undefined);
    try {
      for (const body of ['one', 'two']) {
        await fx.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body }));
      }
      consumer.start();
      await waitFor(
        () =>
          fx.tracing
            .spans()
            .filter((s) => s.kind === SpanKind.CONSUMER && s.attributes['hoptrace.outcome'] === 'ack')
            .length === 2,
        'two acknowledged deliveries',
      );
      consumer.stop({ abort: true });
      assert.deepEqual(handled.sort(), ['one', 'two']);

      const spans = fx.tracing.spans();
      const producers = spans.filter((s) => s.kind === SpanKind.PRODUCER);
      const processes = spans.filter((s) => s.kind === SpanKind.CONSUMER);
      assert.equal(producers.length, 2);
      assert.equal(processes.length, 3);
      for (const p of processes) {
        const producer = producers.find(
          (s) => s.attributes['messaging.message.id'] === p.attributes['messaging.message.id'],
        );
        assert.ok(producer, 'each delivery has its producer');
        assert.equal(p.spanContext().traceId, producer.spanContext().traceId);
        assert.equal(p.parentSpanContext?.spanId, producer.spanContext().spanId);
      }
      assert.deepEqual(
        processes
          .map((s) => [s.attributes['hoptrace.delivery.attempt'], s.attributes['hoptrace.outcome']])
          .sort(),
        [
          [1, 'ack'],
          [1, 'requeue'],
          [2, 'ack'],
        ],
      );
      // Empty long polls leave no receive spans; each receive that got messages has one.
      const receives = spans.filter((s) => s.kind === SpanKind.CLIENT);
      assert.ok(receives.length >= 2);
      for (const r of receives) assert.ok((r.attributes['messaging.batch.message_count'] as number) >= 1);
      assert.equal(await metricValue(fx.registry, 'hoptrace_redeliveries_total'), 1);
      assert.equal(await metricValue(fx.registry, 'messaging_client_consumed_messages_total'), 3);
      assert.equal(await metricValue(fx.registry, 'hoptrace_in_flight_messages'), 0);
    } finally {
      consumer.stop({ abort: true });
      await fx.close();
    }
  });
});
