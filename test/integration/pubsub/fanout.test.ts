/**
 * One publish to a topic with three subscriptions, on Google's fake server: three `process` spans under
 * the one `send` span, one trace and one correlation ID, exact wrapper metrics, and fan-out 3 in the
 * collector's journey of that correlation ID.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '@google-cloud/pubsub';
import { SpanKind } from '@opentelemetry/api';
import { fromReadableSpan } from '../../../collector/otlp/readable-span.js';
import { startCollector } from '../../../collector/start.js';
import { METRIC_FANOUT_DELIVERIES } from '../../../instrumentation/core/semconv.js';
import { metricSum } from '../../helpers/collector.js';
import { metricValue, pubsubFixture, until } from './helpers.js';

describe('Pub/Sub: one publish to a topic with three subscriptions', () => {
  it('gives three process spans in one trace, one correlation ID, exact metrics and fan-out 3', async (t) => {
    const fx = await pubsubFixture(t, { serviceName: 'orders' });
    if (!fx) return;
    const collector = await startCollector({
      port: 0,
      limits: { unconsumedDeadlineMs: 300, linkWindowMs: 300, sweepIntervalMs: 50 },
    });
    try {
      const topic = await fx.topic('orders');
      const subs = [
        await fx.subscription(topic, 'billing'),
        await fx.subscription(topic, 'shipping'),
        await fx.subscription(topic, 'audit'),
      ];
      const received = new Map<string, Message[]>();
      for (const sub of subs) {
        received.set(sub, []);
        fx.listen(sub, (message) => {
          received.get(sub)!.push(message);
          message.ack();
        });
      }
      const id = await fx.pubsub
        .topic(topic.name)
        .publishMessage({ data: Buffer.from('{"order":1}'), attributes: { tenant: 'eu' } });
      await until(
        () => fx.tracing.spans().filter((s) => s.kind === SpanKind.CONSUMER).length === 3,
        '3 consumer spans',
      );

      const spans = fx.tracing.spans();
      const topicName = topic.name.split('/').pop()!;
      const producers = spans.filter((s) => s.kind === SpanKind.PRODUCER);
      assert.equal(producers.length, 1);
      const producer = producers[0]!;
      assert.equal(producer.name, `send ${topicName}`);
      assert.equal(producer.attributes['messaging.system'], 'gcp_pubsub');
      assert.equal(producer.attributes['messaging.message.id'], id);
      const correlationId = producer.attributes['messaging.message.conversation_id'];
      assert.equal(typeof correlationId, 'string');

      const consumers = spans.filter((s) => s.kind === SpanKind.CONSUMER);
      assert.deepEqual(consumers.map((s) => s.name).sort(), subs.map((s) => `process ${s}`).sort());
      for (const span of consumers) {
        assert.equal(span.spanContext().traceId, producer.spanContext().traceId);
        assert.equal(span.parentSpanContext?.spanId, producer.spanContext().spanId);
        assert.equal(span.attributes['messaging.message.conversation_id'], correlationId);
        assert.equal(span.attributes['messaging.message.id'], id);
        assert.equal(span.attributes['hoptrace.outcome'], 'ack');
        assert.equal(span.attributes['hoptrace.delivery.attempt'], 1);
        assert.equal(span.attributes['messaging.destination.subscription.name'], span.name.slice(8));
      }
      for (const [, messages] of received) {
        assert.equal(messages.length, 1);
        assert.equal(messages[0]!.attributes['x-correlation-id'], correlationId);
        assert.equal(messages[0]!.attributes.tenant, 'eu');
      }

      const system = { messaging_system: 'gcp_pubsub' };
      assert.equal(
        await metricValue(fx.registry, 'messaging_client_sent_messages_total', {
          ...system,
          messaging_destination_name: topicName,
          messaging_operation_name: 'send',
          error_type: '',
        }),
        1,
      );
      for (const sub of subs) {
        const labels = { ...system, messaging_destination_name: sub };
        assert.equal(
          await metricValue(fx.registry, 'messaging_client_consumed_messages_total', {
            ...labels,
            hoptrace_outcome: 'ack',
          }),
          1,
        );
        assert.equal(await metricValue(fx.registry, 'messaging_process_duration_seconds', labels), 1);
        assert.equal(await metricValue(fx.registry, 'hoptrace_message_age_seconds', labels), 1);
        assert.equal(await metricValue(fx.registry, 'hoptrace_in_flight_messages', labels), 0);
      }
      assert.equal(await metricValue(fx.registry, 'messaging_client_sent_messages_total'), 1);
      assert.equal(await metricValue(fx.registry, 'messaging_client_consumed_messages_total'), 3);
      assert.equal(await metricValue(fx.registry, 'hoptrace_redeliveries_total'), 0);

      // The collector's journey of that correlation ID: one publish, three deliveries.
      await collector.ingestSpans(spans.map(fromReadableSpan));
      const response = await fetch(`${collector.url}/api/journeys/${correlationId}`);
      assert.equal(response.status, 200);
      const journey = (await response.json()) as {
        publishes: { destination: string; deliveries: { destination: string; outcome: string }[] }[];
      };
      assert.equal(journey.publishes.length, 1);
      assert.equal(journey.publishes[0]!.destination, topicName);
      assert.deepEqual(journey.publishes[0]!.deliveries.map((d) => d.destination).sort(), [...subs].sort());
      assert.ok(journey.publishes[0]!.deliveries.every((d) => d.outcome === 'ack'));
      const m = collector.metrics;
      const fanouts = () => metricSum(m, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_count`);
      const deadline = Date.now() + 5_000;
      while ((await fanouts()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await metricSum(m, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_sum`), 3);
      assert.equal(await metricSum(m, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_count`), 1);
    } finally {
      await collector.close();
      await fx.close();
    }
  });
});
