import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { createTestTracing } from '../../test/helpers/tracing.js';
import { currentCorrelationId, withCorrelationId } from '../core/correlation.js';
import { createOpenMetricsRegistry } from '../core/metrics.js';
import { Bus } from './bus.js';

async function values(registry: ReturnType<typeof createOpenMetricsRegistry>, name: string) {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `${name} is registered`);
  return (await metric.get()).values;
}

async function sum(
  registry: ReturnType<typeof createOpenMetricsRegistry>,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return (await values(registry, name))
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((total, v) => total + v.value, 0);
}

describe('Bus tracing and metrics', () => {
  it('traces an orders flow: fan-out, a follow-on publish, retries and the dead letter, one correlation ID', async () => {
    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const bus = new Bus({ name: 'orders', tracerProvider: tracing.provider, registry, serviceName: 'shop' });
    const fast = { initialMs: 1, factor: 1, maxMs: 1 };
    const seenCorrelation: Record<string, string | undefined> = {};

    bus.subscribe(
      'order.placed',
      async () => {
        seenCorrelation.billing = currentCorrelationId();
        await bus.publish('payment.processed', { ok: true });
      },
      { group: 'billing', serviceName: 'billing' },
    );
    bus.subscribe(
      'order.*',
      () => {
        seenCorrelation.inventory = currentCorrelationId();
      },
      {
        group: 'inventory',
        serviceName: 'inventory',
      },
    );
    bus.subscribe(
      'order.placed',
      () => {
        throw new TypeError('smtp down');
      },
      { group: 'email', serviceName: 'email', maxAttempts: 3, backoff: fast },
    );
    bus.subscribe(
      'payment.processed',
      () => {
        seenCorrelation.shipping = currentCorrelationId();
      },
      {
        group: 'shipping',
        serviceName: 'shipping',
      },
    );
    bus.subscribe(
      '#.dlq',
      () => {
        seenCorrelation.dlq = currentCorrelationId();
      },
      { group: 'dlq-audit' },
    );

    await withCorrelationId('order-1', () => bus.publish('order.placed', { id: 1 }));
    await bus.close();

    const spans = tracing.spans();
    const byName = (name: string) => spans.filter((s) => s.name === name);
    const [orderSend] = byName('send order.placed');
    assert.ok(orderSend);
    assert.equal(orderSend.kind, SpanKind.PRODUCER);
    const traceId = orderSend.spanContext().traceId;

    // Every span of the flow is in one trace and carries one correlation ID.
    for (const span of spans) {
      assert.equal(span.spanContext().traceId, traceId, `${span.name} in the flow's trace`);
      assert.equal(span.attributes['messaging.message.conversation_id'], 'order-1', span.name);
      assert.equal(span.attributes['messaging.system'], 'hoptrace.bus');
    }
    assert.deepEqual(seenCorrelation, {
      billing: 'order-1',
      inventory: 'order-1',
      shipping: 'order-1',
      dlq: 'order-1',
    });

    const orderProcesses = byName('process order.placed');
    const byGroup = (group: string) =>
      orderProcesses.filter((s) => s.attributes['messaging.consumer.group.name'] === group);
    assert.equal(byGroup('billing').length, 1);
    assert.equal(byGroup('inventory').length, 1);
    const emailAttempts = byGroup('email').sort(
      (a, b) =>
        (a.attributes['hoptrace.delivery.attempt'] as number) -
        (b.attributes['hoptrace.delivery.attempt'] as number),
    );
    assert.deepEqual(
      emailAttempts.map((s) => [s.attributes['hoptrace.delivery.attempt'], s.attributes['hoptrace.outcome']]),
      [
        [1, 'retry'],
        [2, 'retry'],
        [3, 'dead_letter'],
      ],
    );
    for (const span of orderProcesses) {
      assert.equal(span.kind, SpanKind.CONSUMER);
      assert.equal(span.parentSpanContext?.spanId, orderSend.spanContext().spanId, 'parent = producer');
      assert.equal(span.links[0]?.context.spanId, orderSend.spanContext().spanId, 'link = producer');
      assert.equal(span.attributes['messaging.operation.type'], 'process');
      assert.equal(span.attributes['messaging.destination.name'], 'order.placed');
      assert.equal(span.attributes['messaging.message.id'], orderSend.attributes['messaging.message.id']);
    }
    for (const attempt of emailAttempts) {
      assert.equal(attempt.status.code, SpanStatusCode.ERROR);
      assert.equal(attempt.attributes['error.type'], 'TypeError');
      assert.equal(attempt.attributes['hoptrace.service.name'], 'email');
    }
    assert.equal(emailAttempts[2]?.attributes['hoptrace.dead_letter.reason'], 'max_attempts');

    // billing's follow-on publish is billing's, a child of billing's process span; shipping is its child.
    const billing = byGroup('billing')[0] as ReadableSpan;
    const [paymentSend] = byName('send payment.processed');
    assert.equal(paymentSend?.parentSpanContext?.spanId, billing.spanContext().spanId);
    assert.equal(paymentSend?.attributes['hoptrace.service.name'], 'billing');
    const [shipping] = byName('process payment.processed');
    assert.equal(shipping?.parentSpanContext?.spanId, paymentSend?.spanContext().spanId);

    // The dead letter is published from the last failed attempt and consumed in the same trace.
    const [dlqSend] = byName('send order.placed.dlq');
    assert.equal(dlqSend?.parentSpanContext?.spanId, emailAttempts[2]?.spanContext().spanId);
    const [dlqProcess] = byName('process order.placed.dlq');
    assert.equal(dlqProcess?.parentSpanContext?.spanId, dlqSend?.spanContext().spanId);

    // Metrics, exactly.
    assert.equal(await sum(registry, 'messaging_client_sent_messages_total'), 3);
    assert.equal(
      await sum(registry, 'messaging_client_sent_messages_total', {
        messaging_destination_name: 'order.placed',
      }),
      1,
    );
    const consumed = (labels: Record<string, string>) =>
      sum(registry, 'messaging_client_consumed_messages_total', labels);
    // billing, inventory, shipping and dlq-audit each ack once.
    assert.equal(await consumed({ hoptrace_outcome: 'ack' }), 4);
    assert.equal(await consumed({ messaging_consumer_group_name: 'email', hoptrace_outcome: 'retry' }), 2);
    assert.equal(
      await consumed({ messaging_consumer_group_name: 'email', hoptrace_outcome: 'dead_letter' }),
      1,
    );
    assert.equal(await consumed({ messaging_consumer_group_name: 'email', error_type: 'TypeError' }), 3);
    assert.equal(
      await sum(registry, 'hoptrace_dead_lettered_messages_total', {
        reason: 'max_attempts',
        messaging_consumer_group_name: 'email',
      }),
      1,
    );
    assert.equal(
      await sum(registry, 'hoptrace_redeliveries_total', { messaging_consumer_group_name: 'email' }),
      2,
    );
    assert.equal(await sum(registry, 'hoptrace_in_flight_messages'), 0);
    assert.equal(await sum(registry, 'hoptrace_invalid_context_total'), 0);
  });

  it('labels each delivery of a wildcard subscription with its own topic, topics alternating', async () => {
    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const bus = new Bus({ tracerProvider: tracing.provider, registry });
    bus.subscribe('orders.*', () => undefined, { group: 'audit' });
    for (const topic of ['orders.a', 'orders.b', 'orders.a', 'orders.a', 'orders.b'])
      await bus.publish(topic, 1);
    await bus.drain();
    const consumed = (destination: string) =>
      sum(registry, 'messaging_client_consumed_messages_total', { messaging_destination_name: destination });
    assert.equal(await consumed('orders.a'), 3);
    assert.equal(await consumed('orders.b'), 2);
    assert.equal(
      await sum(registry, 'hoptrace_in_flight_messages', { messaging_destination_name: 'orders.b' }),
      0,
    );
    await bus.close();
    await tracing.provider.shutdown();
  });

  it('records allow-listed headers (captureHeaders) on consumer spans, and no other header', async () => {
    const tracing = createTestTracing();
    const bus = new Bus({ tracerProvider: tracing.provider, captureHeaders: ['x-tenant'] });
    bus.subscribe('orders', () => undefined);
    await bus.publish('orders', { id: 1 }, { headers: { 'x-tenant': 'acme', 'x-secret': 'hunter2' } });
    await bus.close();
    const consumer = tracing.spans().find((s) => s.name === 'process orders');
    assert.equal(consumer?.attributes['hoptrace.header.x-tenant'], 'acme');
    assert.equal(consumer?.attributes['hoptrace.header.x-secret'], undefined);
  });
});
