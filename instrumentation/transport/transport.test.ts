/**
 * The transport kit, used as a third party would: examples/transport instruments a toy client with
 * `hoptrace/transport` alone, and gets exactly the spans and metrics hoptrace's own transports make.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { instrumentToy } from '../../examples/transport/instrument-toy.js';
import { ToyClient, type ToyMessage } from '../../examples/transport/toy-client.js';
import { createTestTracing, spanByName } from '../../test/helpers/tracing.js';
import { currentCorrelationId, withCorrelationId } from '../core/correlation.js';
import { createOpenMetricsRegistry, type MetricsRegistry } from '../core/metrics.js';

async function value(registry: MetricsRegistry, name: string, labels: Record<string, string>) {
  const data = await registry.getSingleMetric(name)?.get();
  const matches = (data?.values ?? []).filter((v) =>
    Object.entries(labels).every(([k, expected]) => v.labels[k] === expected),
  );
  return matches.length === 0 ? undefined : matches.reduce((sum, v) => sum + v.value, 0);
}

describe('hoptrace/transport on a toy client', () => {
  it('traces publish -> process with the contract headers, spans and metrics', async () => {
    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const toy = instrumentToy(new ToyClient(), {
      tracerProvider: tracing.provider,
      registry,
      serviceName: 'shop',
    });
    const seen: { message: ToyMessage; correlationId: string | undefined }[] = [];
    toy.subscribe('orders', (message) => {
      seen.push({ message, correlationId: currentCorrelationId() });
    });

    await withCorrelationId('flow-1', () => toy.publish('orders', 'o-1', { headers: { tenant: 'acme' } }));
    await toy.drain();

    // Headers on the wire: the caller's plus hoptrace's.
    assert.equal(seen.length, 1);
    const headers = seen[0]?.message.headers ?? {};
    // Lean headers: no correlation-only baggage, no first-hop origin (CONTRACT.md).
    assert.deepEqual(Object.keys(headers).sort(), [
      'tenant',
      'traceparent',
      'x-correlation-id',
      'x-hoptrace-published-at',
    ]);
    assert.equal(headers['x-correlation-id'], 'flow-1');
    assert.equal(seen[0]?.correlationId, 'flow-1', 'the handler runs in the flow');

    const spans = tracing.spans();
    assert.deepEqual(spans.map((s) => s.name).sort(), ['process orders', 'publish orders']);
    const producer = spanByName(spans, 'publish orders');
    const consumer = spanByName(spans, 'process orders');
    assert.equal(producer.kind, SpanKind.PRODUCER);
    assert.equal(consumer.kind, SpanKind.CONSUMER);
    assert.equal(
      headers.traceparent,
      `00-${producer.spanContext().traceId}-${producer.spanContext().spanId}-01`,
    );
    assert.equal(consumer.spanContext().traceId, producer.spanContext().traceId);
    assert.equal(consumer.parentSpanContext?.spanId, producer.spanContext().spanId);
    assert.deepEqual(
      consumer.links.map((l) => l.context.spanId),
      [producer.spanContext().spanId],
    );
    assert.deepEqual(producer.attributes, {
      'messaging.system': 'toy',
      'messaging.destination.name': 'orders',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'publish',
      'messaging.message.conversation_id': 'flow-1',
      'hoptrace.service.name': 'shop',
    });
    const publishedAt = Number(headers['x-hoptrace-published-at']);
    assert.deepEqual(consumer.attributes, {
      'messaging.system': 'toy',
      'messaging.destination.name': 'orders',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.message.conversation_id': 'flow-1',
      'messaging.message.id': '1',
      'hoptrace.delivery.attempt': 1,
      'hoptrace.published_at': publishedAt,
      'hoptrace.origin_at': publishedAt,
      'hoptrace.service.name': 'shop',
      'hoptrace.outcome': 'ack',
    });
    assert.equal(consumer.status.code, SpanStatusCode.UNSET);

    const toyLabels = { messaging_system: 'toy', messaging_destination_name: 'orders' };
    assert.equal(
      await value(registry, 'messaging_client_sent_messages_total', {
        ...toyLabels,
        messaging_operation_name: 'publish',
        error_type: '',
      }),
      1,
    );
    assert.equal(
      await value(registry, 'messaging_client_consumed_messages_total', {
        ...toyLabels,
        messaging_consumer_group_name: '',
        messaging_operation_name: 'process',
        hoptrace_outcome: 'ack',
        error_type: '',
      }),
      1,
    );
    assert.equal(await value(registry, 'hoptrace_in_flight_messages', toyLabels), 0);
    assert.equal(await value(registry, 'hoptrace_redeliveries_total', toyLabels), 0);
    const durations = (await registry.getSingleMetric('messaging_process_duration_seconds')?.get())
      ?.values as { metricName?: string; value: number }[];
    assert.equal(
      durations.find((v) => v.metricName === 'messaging_process_duration_seconds_count')?.value,
      1,
    );
  });

  it('records a failing handler as retry, then error, with the same error passed through', async () => {
    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const toy = instrumentToy(new ToyClient(), { tracerProvider: tracing.provider, registry });
    const thrown: unknown[] = [];
    const error = new TypeError('no stock');
    toy.subscribe('orders', async () => {
      thrown.push(error);
      throw error;
    });
    await toy.publish('orders', 'o-2');
    await toy.drain();

    assert.equal(thrown.length, 2, 'delivered, then redelivered once');
    const attempts = tracing
      .spans()
      .filter((s) => s.name === 'process orders')
      .map((s) => [
        s.attributes['hoptrace.delivery.attempt'],
        s.attributes['hoptrace.outcome'],
        s.attributes['error.type'],
        s.status.code,
      ]);
    assert.deepEqual(attempts, [
      [1, 'retry', 'TypeError', SpanStatusCode.ERROR],
      [2, 'error', 'TypeError', SpanStatusCode.ERROR],
    ]);
    const consumed = (outcome: string) =>
      value(registry, 'messaging_client_consumed_messages_total', {
        messaging_system: 'toy',
        hoptrace_outcome: outcome,
        error_type: 'TypeError',
      });
    assert.equal(await consumed('retry'), 1);
    assert.equal(await consumed('error'), 1);
    assert.equal(await value(registry, 'hoptrace_redeliveries_total', { messaging_system: 'toy' }), 1);
    assert.equal(await value(registry, 'hoptrace_in_flight_messages', { messaging_system: 'toy' }), 0);
  });
});
