/**
 * SNS -> three SQS queues (one raw delivery, two enveloped) -> three consumers on the emulator: one
 * trace, one correlation ID, three process spans, fan-out 3 in the collector's journey, exact metrics.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateTopicCommand, DeleteTopicCommand, PublishCommand } from '@aws-sdk/client-sns';
import { SpanKind, trace } from '@opentelemetry/api';
import {
  type ReceiveResult,
  receiveAndProcess,
  type SqsMessage,
} from '../../../instrumentation/aws/index.js';
import { currentCorrelationId } from '../../../instrumentation/core/correlation.js';
import { METRIC_FANOUT_DELIVERIES } from '../../../instrumentation/core/semconv.js';
import { metricSum } from '../../helpers/collector.js';
import { aws, link, metricValue, unique } from './helpers.js';

describe('SNS fan-out to three SQS queues', () => {
  it('joins every consumer to the publisher trace and correlation ID, raw and enveloped alike', async (t) => {
    const fx = await aws(t);
    if (!fx) return;
    try {
      const topicArn = await fx.createTopic(unique('orders'));
      const names = ['billing', 'shipping', 'audit'].map((n) => unique(n));
      const queues = [];
      for (const [i, name] of names.entries()) {
        const q = await fx.createQueue(name, { VisibilityTimeout: '1' });
        await fx.subscribe(topicArn, q.arn, i === 0);
        queues.push(q);
      }

      const published = await fx.sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: '{"order":1}',
          MessageAttributes: { kind: { DataType: 'String', StringValue: 'placed' } },
        }),
      );
      assert.equal(typeof published.MessageId, 'string');

      const seen: {
        queue: string;
        correlationId: string | undefined;
        traceId: string | undefined;
        message: SqsMessage;
      }[] = [];
      for (const [i, q] of queues.entries()) {
        const result: ReceiveResult = await receiveAndProcess(
          fx.sqs,
          { QueueUrl: q.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['kind'] },
          (message: SqsMessage) => {
            seen.push({
              queue: names[i] as string,
              correlationId: currentCorrelationId(),
              traceId: trace.getActiveSpan()?.spanContext().traceId,
              message,
            });
          },
        );
        assert.deepEqual(result, { received: 1, processed: 1, failed: 0 }, names[i]);
      }

      const spans = fx.tracing.spans();
      const producer = spans.find((s) => s.kind === SpanKind.PRODUCER);
      assert.ok(producer);
      assert.equal(producer.name, `publish ${topicArn.split(':').pop()}`);
      assert.equal(producer.attributes['messaging.system'], 'aws_sns');
      assert.equal(producer.attributes['messaging.message.id'], published.MessageId);
      assert.equal(producer.attributes['hoptrace.propagation'], 'attributes');
      const correlationId = producer.attributes['messaging.message.conversation_id'];
      const traceId = producer.spanContext().traceId;

      const processes = spans.filter((s) => s.kind === SpanKind.CONSUMER);
      assert.deepEqual(processes.map((s) => s.name).sort(), names.map((n) => `process ${n}`).sort());
      for (const span of processes) {
        assert.equal(span.spanContext().traceId, traceId);
        assert.equal(span.parentSpanContext?.spanId, producer.spanContext().spanId);
        assert.equal(span.attributes['messaging.system'], 'aws_sqs');
        assert.equal(span.attributes['messaging.message.conversation_id'], correlationId);
        assert.equal(span.attributes['hoptrace.outcome'], 'ack');
        assert.equal(span.attributes['hoptrace.delivery.attempt'], 1);
      }
      const receives = spans.filter((s) => s.kind === SpanKind.CLIENT && s.name.startsWith('receive '));
      assert.equal(receives.length, 3);
      for (const r of receives) {
        assert.equal(r.links.length, 1);
        assert.equal(r.links[0]?.context.spanId, producer.spanContext().spanId);
        assert.equal(r.attributes['messaging.batch.message_count'], 1);
      }
      // Handlers ran in their message's context; the caller got back only the attribute it asked for.
      assert.equal(seen.length, 3);
      for (const s of seen) {
        assert.equal(s.correlationId, correlationId, s.queue);
        assert.equal(s.traceId, traceId, s.queue);
        assert.equal(s.message.Attributes, undefined);
      }
      assert.deepEqual(seen[0]?.message.MessageAttributes, {
        kind: { DataType: 'String', StringValue: 'placed' },
      });
      assert.equal(seen[1]?.message.MessageAttributes, undefined); // enveloped: attributes are in the body
      assert.equal(JSON.parse(seen[1]?.message.Body as string).MessageAttributes.kind.Value, 'placed');

      assert.equal(
        await metricValue(fx.registry, 'messaging_client_sent_messages_total', {
          messaging_system: 'aws_sns',
        }),
        1,
      );
      assert.equal(await metricValue(fx.registry, 'messaging_client_sent_messages_total'), 1);
      for (const name of names) {
        const labels = { messaging_system: 'aws_sqs', messaging_destination_name: name };
        assert.equal(
          await metricValue(fx.registry, 'messaging_client_consumed_messages_total', {
            ...labels,
            hoptrace_outcome: 'ack',
          }),
          1,
          name,
        );
        assert.equal(await metricValue(fx.registry, 'hoptrace_message_age_seconds', labels), 1);
        assert.equal(await metricValue(fx.registry, 'hoptrace_in_flight_messages', labels), 0);
      }
      assert.equal(await metricValue(fx.registry, 'messaging_client_consumed_messages_total'), 3);
      assert.equal(await metricValue(fx.registry, 'hoptrace_redeliveries_total'), 0);

      const { linker, metrics } = link(spans);
      const journey = linker.journey(correlationId as string);
      assert.ok(journey);
      assert.deepEqual(journey.traceIds, [traceId]);
      assert.equal(journey.counts.publishes, 1);
      assert.equal(journey.counts.deliveries, 3);
      assert.equal(journey.counts.orphans, 0);
      assert.equal(
        await metricSum(metrics, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_sum`),
        3,
      );
      assert.equal(
        await metricSum(metrics, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_count`),
        1,
      );
    } finally {
      await fx.close();
    }
  });

  it('a FIFO topic to a FIFO queue keeps order and deduplication, each message in its own trace', async (t) => {
    const fx = await aws(t);
    if (!fx) return;
    try {
      const name = unique('fifo');
      const topicArn = (
        await fx.rawSns.send(
          new CreateTopicCommand({ Name: `${name}.fifo`, Attributes: { FifoTopic: 'true' } }),
        )
      ).TopicArn as string;
      const queue = await fx.createQueue(`${name}.fifo`, { FifoQueue: 'true' });
      await fx.subscribe(topicArn, queue.arn, true);
      try {
        for (const [body, dedup] of [
          ['first', 'd1'],
          ['second', 'd2'],
          ['first-again', 'd1'],
          ['third', 'd3'],
        ]) {
          await fx.sns.send(
            new PublishCommand({
              TopicArn: topicArn,
              Message: body,
              MessageGroupId: 'g',
              MessageDeduplicationId: dedup,
            }),
          );
        }
        const bodies: string[] = [];
        for (let i = 0; i < 10 && bodies.length < 3; i++) {
          await receiveAndProcess(
            fx.sqs,
            { QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 },
            (m: SqsMessage) => {
              bodies.push(m.Body as string);
            },
          );
        }
        assert.deepEqual(bodies, ['first', 'second', 'third']);
        const spans = fx.tracing.spans();
        const producers = spans.filter((s) => s.kind === SpanKind.PRODUCER);
        const consumers = spans.filter((s) => s.kind === SpanKind.CONSUMER);
        assert.equal(producers.length, 4);
        assert.equal(consumers.length, 3);
        // Deliveries belong to the first, second and fourth publish, in that order.
        assert.deepEqual(
          consumers.map((c) =>
            producers.findIndex((p) => p.spanContext().spanId === c.parentSpanContext?.spanId),
          ),
          [0, 1, 3],
        );
      } finally {
        await fx.rawSns.send(new DeleteTopicCommand({ TopicArn: topicArn })).catch(() => undefined);
      }
    } finally {
      await fx.close();
    }
  });
});
