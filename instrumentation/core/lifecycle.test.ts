import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { createTestTracing, spanByName } from '../../test/helpers/tracing.js';
import { currentCorrelationId, withCorrelationId } from './correlation.js';
import { startDelivery } from './delivery.js';
import { createInstrumentation } from './instrumentation.js';
import { createOpenMetricsRegistry } from './metrics.js';
import { startPublish } from './publish.js';
import { HEADER_CORRELATION_ID, HEADER_ORIGIN_AT, HEADER_PUBLISHED_AT, type Outcome } from './semconv.js';

function setup(linkMode: 'parent' | 'link' = 'parent') {
  const tracing = createTestTracing();
  const registry = createOpenMetricsRegistry();
  const instr = createInstrumentation('test', 'hoptrace.bus', {
    tracerProvider: tracing.provider,
    registry,
    linkMode,
    serviceName: 'svc',
  });
  return { tracing, registry, instr };
}

async function metricValue(
  registry: ReturnType<typeof createOpenMetricsRegistry>,
  name: string,
  labels: Record<string, string>,
) {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name} exists`);
  const data = await metric.get();
  const match = data.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value;
}

describe('publish -> delivery over headers', () => {
  it('parents the consumer span on the producer span and keeps the correlation ID', async () => {
    const { tracing, registry, instr } = setup();
    const publish = withCorrelationId('order-42', () =>
      startPublish(instr, {
        destination: 'orders',
        operationName: 'send',
        headers: { user: 'x' },
        message: null,
      }),
    );
    publish.end();
    assert.equal(publish.headers[HEADER_CORRELATION_ID], 'order-42');
    assert.match(String(publish.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    // Lean headers: publish time, no first-hop origin, no correlation-only baggage.
    assert.equal(publish.headers[HEADER_PUBLISHED_AT], String(publish.publishedAt));
    assert.equal(publish.headers[HEADER_ORIGIN_AT], undefined);
    assert.equal(publish.headers.baggage, undefined);

    const delivery = startDelivery(instr, {
      destination: 'orders',
      consumerGroup: 'billing',
      headers: publish.headers,
      message: null,
    });
    let seen: string | undefined;
    await delivery.run(async () => {
      await new Promise((r) => setTimeout(r, 5));
      seen = currentCorrelationId();
    });
    delivery.settle('ack');

    assert.equal(seen, 'order-42');
    const producer = spanByName(tracing.spans(), 'send orders');
    const consumer = spanByName(tracing.spans(), 'process orders');
    assert.equal(producer.kind, SpanKind.PRODUCER);
    assert.equal(consumer.kind, SpanKind.CONSUMER);
    assert.equal(consumer.spanContext().traceId, producer.spanContext().traceId);
    assert.equal(consumer.parentSpanContext?.spanId, producer.spanContext().spanId);
    assert.equal(consumer.links[0]?.context.spanId, producer.spanContext().spanId);
    assert.equal(consumer.attributes['messaging.message.conversation_id'], 'order-42');
    assert.equal(consumer.attributes['hoptrace.outcome'], 'ack');
    assert.equal(consumer.attributes['hoptrace.service.name'], 'svc');
    assert.equal(
      await metricValue(registry, 'messaging_client_consumed_messages_total', { hoptrace_outcome: 'ack' }),
      1,
    );
    assert.equal(
      await metricValue(registry, 'hoptrace_in_flight_messages', { messaging_destination_name: 'orders' }),
      0,
    );
  });

  it('starts a new trace with only a link in link mode', () => {
    const { tracing, instr } = setup('link');
    const publish = startPublish(instr, {
      destination: 'q',
      operationName: 'send',
      headers: {},
      message: null,
    });
    publish.end();
    const delivery = startDelivery(instr, { destination: 'q', headers: publish.headers, message: null });
    delivery.run(() => undefined);
    delivery.settle('ack');
    const producer = spanByName(tracing.spans(), 'send q');
    const consumer = spanByName(tracing.spans(), 'process q');
    assert.notEqual(consumer.spanContext().traceId, producer.spanContext().traceId);
    assert.equal(consumer.parentSpanContext, undefined);
    assert.equal(consumer.links[0]?.context.traceId, producer.spanContext().traceId);
  });

  it('passes a handler error through untouched and records it once', async () => {
    const { tracing, instr } = setup();
    const delivery = startDelivery(instr, { destination: 'q', headers: {}, message: null });
    const boom = new RangeError('boom');
    await assert.rejects(
      delivery.run(async () => {
        throw boom;
      }),
      (err) => err === boom,
    );
    delivery.settle('error', { error: boom });
    const consumer = spanByName(tracing.spans(), 'process q');
    assert.equal(consumer.status.code, SpanStatusCode.ERROR);
    assert.equal(consumer.attributes['error.type'], 'RangeError');
    assert.equal(consumer.events.filter((e) => e.name === 'exception').length, 1);
  });

  it('counts a dead-lettering settle only when asked to, once', async () => {
    const { registry, instr } = setup();
    const labels = { messaging_destination_name: 'q', reason: 'delivery_limit' };
    const counted = startDelivery(instr, {
      destination: 'q',
      headers: {},
      message: null,
      settleTimeoutMs: false,
    });
    counted.settle('dead_letter', { deadLetterReason: 'delivery_limit', countDeadLetter: true });
    counted.settle('dead_letter', { deadLetterReason: 'delivery_limit', countDeadLetter: true });
    const notCounted = startDelivery(instr, {
      destination: 'q',
      headers: {},
      message: null,
      settleTimeoutMs: false,
    });
    notCounted.settle('dead_letter', { deadLetterReason: 'delivery_limit' });
    assert.equal(await metricValue(registry, 'hoptrace_dead_lettered_messages_total', labels), 1);
  });

  it('keeps a caller origin-at only when it is 13-digit epoch milliseconds', () => {
    const { instr } = setup();
    const origin = (value: string) => {
      const publish = startPublish(instr, {
        destination: 'q',
        operationName: 'send',
        headers: { [HEADER_ORIGIN_AT]: value },
        message: null,
      });
      publish.end();
      return { origin: publish.headers[HEADER_ORIGIN_AT], publishedAt: String(publish.publishedAt) };
    };
    assert.equal(origin('1700000000123').origin, '1700000000123');
    for (const bad of ['5', '1700000000', '99999999999999']) {
      assert.equal(origin(bad).origin, undefined, `${bad} is replaced by the publish time (a first hop)`);
    }
  });
});

describe('span status follows the outcome', () => {
  const cases: [Outcome, boolean][] = [
    ['ack', false],
    ['requeue', false],
    ['nack', false],
    ['dead_letter', true],
    ['reject', true],
    ['error', true],
    ['retry', true],
  ];
  for (const [outcome, failed] of cases) {
    it(`${outcome} without an error object: ${failed ? 'ERROR with error.type' : 'no status'}`, () => {
      const { tracing, instr } = setup();
      const delivery = startDelivery(instr, { destination: 'orders', message: null, settleTimeoutMs: false });
      delivery.run(() => {});
      delivery.settle(outcome);
      const [span] = tracing.spans();
      assert.equal(span.status.code, failed ? SpanStatusCode.ERROR : SpanStatusCode.UNSET);
      assert.equal(span.attributes['error.type'], failed ? outcome : undefined);
    });
  }

  it("a nack after the handler threw: the handler's error names the failure, metrics unchanged", async () => {
    const { tracing, registry, instr } = setup();
    const delivery = startDelivery(instr, { destination: 'orders', consumerGroup: 'g', message: null });
    class Bounced extends Error {
      override name = 'Bounced';
    }
    await assert.rejects(
      delivery.run(async () => {
        throw new Bounced('no');
      }),
    );
    delivery.settle('dead_letter', { deadLetterReason: 'rejected' });
    const [span] = tracing.spans();
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.attributes['error.type'], 'Bounced');
    assert.equal(
      await metricValue(registry, 'messaging_client_consumed_messages_total', {
        hoptrace_outcome: 'dead_letter',
        error_type: '',
      }),
      1,
    );
  });
});
