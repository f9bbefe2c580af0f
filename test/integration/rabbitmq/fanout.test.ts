import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import type { ConsumeMessage } from 'amqplib';
import { metricValue, rabbit, spansNamed, unique, waitFor } from './helpers.js';

for (const type of ['topic', 'fanout'] as const) {
  describe(`a ${type} exchange delivering one publish to three queues`, () => {
    it('gives three consumer spans under the producer span, one trace, one correlation ID, exact metrics', async (t) => {
      const fx = await rabbit(t, { serviceName: 'orders' });
      if (!fx) return;
      try {
        const exchange = unique(`${type}-ex`);
        const queues = ['billing', 'shipping', 'audit'].map((name) => unique(name));
        await fx.admin.assertExchange(exchange, type, { autoDelete: true });
        for (const [i, queue] of queues.entries()) {
          await fx.admin.assertQueue(queue, { autoDelete: true });
          // topic: three different patterns that all match `order.eu.placed`.
          const pattern = type === 'topic' ? ['order.#', 'order.*.placed', '#.placed'][i]! : '';
          await fx.admin.bindQueue(queue, exchange, pattern);
        }

        const consumerChannel = await fx.conn.createChannel();
        const received: ConsumeMessage[] = [];
        for (const queue of queues) {
          await consumerChannel.consume(queue, (msg) => {
            if (!msg) return;
            received.push(msg);
            consumerChannel.ack(msg);
          });
        }
        const producerChannel = await fx.conn.createChannel();
        const routingKey = 'order.eu.placed';
        assert.equal(producerChannel.publish(exchange, routingKey, Buffer.from('{"id":1}')), true);

        await waitFor(
          () => fx.tracing.spans().filter((s) => s.kind === SpanKind.CONSUMER).length === 3,
          '3 spans',
        );
        const spans = fx.tracing.spans();
        const [producer] = spansNamed(spans, `publish ${exchange}`);
        assert.ok(producer);
        assert.equal(producer.kind, SpanKind.PRODUCER);
        assert.equal(producer.attributes['messaging.rabbitmq.destination.routing_key'], routingKey);
        assert.equal(producer.attributes['messaging.destination.name'], exchange);
        const correlationId = producer.attributes['messaging.message.conversation_id'];
        assert.equal(typeof correlationId, 'string');

        const consumers = spans.filter((s) => s.kind === SpanKind.CONSUMER);
        assert.deepEqual(consumers.map((s) => s.name).sort(), queues.map((q) => `process ${q}`).sort());
        for (const span of consumers) {
          assert.equal(span.spanContext().traceId, producer.spanContext().traceId);
          assert.equal(span.parentSpanContext?.spanId, producer.spanContext().spanId);
          assert.equal(span.links[0]?.context.spanId, producer.spanContext().spanId);
          assert.equal(span.attributes['messaging.message.conversation_id'], correlationId);
          assert.equal(span.attributes['messaging.message.id'], producer.attributes['messaging.message.id']);
          assert.equal(span.attributes['messaging.rabbitmq.destination.routing_key'], routingKey);
          assert.equal(span.attributes['hoptrace.outcome'], 'ack');
          assert.equal(span.attributes['messaging.consumer.group.name'], undefined);
        }
        // The correlation ID travels in the headers unchanged.
        for (const msg of received) {
          assert.equal(msg.properties.headers?.['x-correlation-id'], correlationId);
        }

        const system = { messaging_system: 'rabbitmq' };
        assert.equal(
          await metricValue(fx.registry, 'messaging_client_sent_messages_total', {
            ...system,
            messaging_destination_name: exchange,
            messaging_operation_name: 'publish',
            error_type: '',
          }),
          1,
        );
        for (const queue of queues) {
          const labels = { ...system, messaging_destination_name: queue, messaging_consumer_group_name: '' };
          assert.equal(
            await metricValue(fx.registry, 'messaging_client_consumed_messages_total', {
              ...labels,
              hoptrace_outcome: 'ack',
              error_type: '',
            }),
            1,
          );
          assert.equal(await metricValue(fx.registry, 'messaging_process_duration_seconds', labels), 1);
          assert.equal(await metricValue(fx.registry, 'hoptrace_message_age_seconds', labels), 1);
          assert.equal(await metricValue(fx.registry, 'hoptrace_in_flight_messages', labels), 0);
        }
        // Exactly these series: nothing recorded under a routing key or elsewhere.
        assert.equal(await metricValue(fx.registry, 'messaging_client_sent_messages_total'), 1);
        assert.equal(await metricValue(fx.registry, 'messaging_client_consumed_messages_total'), 3);
      } finally {
        await fx.close();
      }
    });
  });
}
