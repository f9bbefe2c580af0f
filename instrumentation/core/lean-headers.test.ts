import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { AlwaysOffSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { createTestTracing } from '../../test/helpers/tracing.js';
import { currentCorrelationId, withCorrelationId } from './correlation.js';
import { startDelivery } from './delivery.js';
import { createInstrumentation } from './instrumentation.js';
import { createOpenMetricsRegistry } from './metrics.js';
import { injectContext } from './propagation.js';
import { startPublish } from './publish.js';

function setup() {
  const tracing = createTestTracing();
  const instr = createInstrumentation('test', 'hoptrace.bus', {
    tracerProvider: tracing.provider,
    registry: createOpenMetricsRegistry(),
    serviceName: 'svc',
  });
  return { tracing, instr };
}

describe('lean headers (CONTRACT.md "Headers written on every message")', () => {
  it('a first hop writes traceparent, correlation ID and publish time only', () => {
    const { instr } = setup();
    const op = withCorrelationId('c-1', () =>
      startPublish(instr, { destination: 'q', operationName: 'send', headers: {}, message: null }),
    );
    op.end();
    assert.deepEqual(Object.keys(op.headers).sort(), [
      'traceparent',
      'x-correlation-id',
      'x-hoptrace-published-at',
    ]);
  });

  it('keeps baggage with entries besides the correlation ID, and the consumer restores the entry', async () => {
    const { instr } = setup();
    const baggage = propagation.createBaggage({ tenant: { value: 'eu' } });
    const op = context.with(propagation.setBaggage(context.active(), baggage), () =>
      withCorrelationId('c-2', () =>
        startPublish(instr, { destination: 'q', operationName: 'send', headers: {}, message: null }),
      ),
    );
    op.end();
    assert.equal(op.headers.baggage, 'tenant=eu,correlation.id=c-2');
    const lean = startDelivery(instr, {
      destination: 'q',
      headers: { traceparent: op.headers.traceparent, 'x-correlation-id': 'c-2' },
      message: null,
      settleTimeoutMs: false,
    });
    await lean.run(() => {
      assert.equal(currentCorrelationId(), 'c-2');
      assert.equal(propagation.getBaggage(context.active())?.getEntry('correlation.id')?.value, 'c-2');
    });
    lean.settle('ack');
  });

  it('no broker publish time: published-at; with one (Kafka CreateTime, Pub/Sub): none, a forwarded one removed', () => {
    const { instr } = setup();
    const forwarded = { 'x-hoptrace-published-at': '1700000000000' };
    const op = startPublish(instr, {
      destination: 't',
      operationName: 'send',
      headers: forwarded,
      brokerPublishTime: true,
      message: null,
    });
    op.end();
    assert.equal(op.headers['x-hoptrace-published-at'], undefined);
    // A forwarded lean message: its publish time is the flow's origin.
    assert.equal(op.headers['x-hoptrace-origin-at'], '1700000000000');
    assert.equal(forwarded['x-hoptrace-published-at'], '1700000000000', 'the caller headers are not changed');
  });

  it('writes origin-at past the first hop (a publish inside a delivery)', async () => {
    const { instr } = setup();
    const delivery = startDelivery(instr, {
      destination: 'q',
      headers: { 'x-correlation-id': 'c-3', 'x-hoptrace-published-at': '1700000000000' },
      message: null,
      settleTimeoutMs: false,
    });
    const next = delivery.run(() =>
      startPublish(instr, { destination: 'q2', operationName: 'send', headers: {}, message: null }),
    );
    next.end();
    delivery.settle('ack');
    assert.equal(next.headers['x-hoptrace-origin-at'], '1700000000000');
    assert.equal(next.headers['x-correlation-id'], 'c-3');
    assert.equal(next.headers.baggage, undefined);
  });

  it('tracestate only when non-empty; injectContext keeps plain propagation unless asked', () => {
    const spanContext = { traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 1 };
    const base = withCorrelationId('c-4', () => context.active());
    const empty: Record<string, unknown> = {};
    injectContext(trace.setSpanContext(base, { ...spanContext, traceState: new TraceState('') }), empty);
    assert.equal(empty.tracestate, undefined);
    assert.equal(empty.baggage, 'correlation.id=c-4', 'plain injectContext writes every baggage entry');
    const full: Record<string, unknown> = {};
    injectContext(trace.setSpanContext(base, { ...spanContext, traceState: new TraceState('v=1') }), full, {
      leanBaggage: true,
    });
    assert.equal(full.tracestate, 'v=1');
    assert.equal(full.baggage, undefined);
  });

  it('attribute functions run only for recording spans (no attribute work when unsampled)', async () => {
    const unsampled = createInstrumentation('test', 'kafka', {
      tracerProvider: new TracerProvider({ sampler: new AlwaysOffSampler() }),
      registry: createOpenMetricsRegistry(),
    });
    const { tracing, instr: sampled } = setup();
    let calls = 0;
    const attributes = () => {
      calls++;
      return { 'messaging.kafka.message.key': 'k' };
    };
    for (const instr of [unsampled, sampled]) {
      const op = startPublish(instr, {
        destination: 't',
        operationName: 'send',
        headers: {},
        attributes,
        message: null,
      });
      op.end();
      const d = startDelivery(instr, {
        destination: 't',
        headers: op.headers,
        attributes,
        message: null,
        settleTimeoutMs: false,
      });
      d.run(() => undefined);
      d.settle('ack');
    }
    assert.equal(calls, 2, 'once for the sampled publish, once for the sampled delivery');
    assert.deepEqual(
      tracing.spans().map((s) => s.attributes['messaging.kafka.message.key']),
      ['k', 'k'],
    );
  });
});
