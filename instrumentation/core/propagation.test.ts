import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  context,
  defaultTextMapGetter,
  propagation,
  ROOT_CONTEXT,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { extractIncoming, injectContext, LIMITS } from './propagation.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

function producerContext() {
  const withSpan = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    traceFlags: TraceFlags.SAMPLED,
  });
  const baggage = propagation.createBaggage({ tenant: { value: 'acme' } });
  return propagation.setBaggage(withSpan, baggage);
}

describe('carrier round trip with the W3C propagators', () => {
  const carriers: Array<[string, (h: Record<string, string>) => Record<string, unknown>]> = [
    ['plain object (bus, AMQP table)', (h) => ({ ...h })],
    [
      'Kafka Buffer values',
      (h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Buffer.from(v)])),
    ],
    [
      'Kafka Uint8Array values',
      (h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, new TextEncoder().encode(v)])),
    ],
    [
      'Kafka repeated headers (arrays)',
      (h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, [Buffer.from(v)]])),
    ],
    [
      'mixed string and Buffer arrays',
      (h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, [v, Buffer.from(v)]])),
    ],
  ];
  for (const [name, toCarrier] of carriers) {
    it(`extracts what was injected: ${name}`, () => {
      const headers: Record<string, string> = {};
      injectContext(producerContext(), headers);
      assert.equal(headers.traceparent, TRACEPARENT);
      const incoming = extractIncoming(toCarrier(headers));
      assert.deepEqual(incoming.invalid, []);
      assert.equal(incoming.remote?.traceId, TRACE_ID);
      assert.equal(incoming.remote?.spanId, SPAN_ID);
      assert.equal(incoming.remote?.isRemote, true);
      assert.equal(propagation.getBaggage(incoming.context)?.getEntry('tenant')?.value, 'acme');
    });
  }

  it('reads baggage exactly as the W3C propagator does, also where hoptrace reads it itself', () => {
    const w3c = new W3CBaggagePropagator();
    for (const baggage of [
      'correlation.id=e0f6c2a4-7b1d-4a8e-9c3f-5d2b1a0e8f7c',
      'correlation.id=a=b',
      'correlation.id=order%201',
      'correlation.id= padded ',
      'correlation.id=x;meta=1',
      'correlation.id=x,tenant=acme',
      'tenant=acme',
    ]) {
      const expected = propagation.getBaggage(w3c.extract(ROOT_CONTEXT, { baggage }, defaultTextMapGetter));
      const actual = propagation.getBaggage(extractIncoming({ traceparent: TRACEPARENT, baggage }).context);
      assert.deepEqual(
        actual?.getAllEntries().map(([k, v]) => [k, v.value, v.metadata?.toString()]),
        expected?.getAllEntries().map(([k, v]) => [k, v.value, v.metadata?.toString()]),
        baggage,
      );
    }
  });

  it("never overwrites the caller's traceparent or its tracestate", () => {
    const mine = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
    const headers: Record<string, unknown> = { traceparent: mine };
    injectContext(producerContext(), headers);
    assert.equal(headers.traceparent, mine);
    assert.equal(headers.tracestate, undefined);
    assert.equal(headers.baggage, 'tenant=acme');
  });

  it('reads hoptrace headers: correlation ID, timestamps, message ID', () => {
    const incoming = extractIncoming({
      'x-correlation-id': Buffer.from('order-1'),
      'x-hoptrace-published-at': '1700000000123',
      'x-hoptrace-origin-at': 1700000000000,
      'x-hoptrace-message-id': 'm-1',
    });
    assert.equal(incoming.correlationId, 'order-1');
    assert.equal(incoming.publishedAt, 1700000000123);
    assert.equal(incoming.originAt, 1700000000000);
    assert.equal(incoming.messageId, 'm-1');
    assert.equal(incoming.remote, undefined);
  });

  it('reads the correlation ID from a configured header name', () => {
    assert.equal(extractIncoming({ 'x-request-id': 'r-9' }, 'x-request-id').correlationId, 'r-9');
  });

  it('uses a registered global propagator instead of the default', () => {
    // A propagator that only knows a custom header proves hoptrace goes through the global API.
    const custom = {
      inject(ctx: typeof ROOT_CONTEXT, carrier: Record<string, string>) {
        const sc = trace.getSpanContext(ctx);
        if (sc) carrier['x-custom-trace'] = `${sc.traceId}:${sc.spanId}`;
      },
      extract(ctx: typeof ROOT_CONTEXT, carrier: Record<string, string>) {
        const [traceId, spanId] = String(carrier['x-custom-trace'] ?? '').split(':');
        if (!traceId || !spanId) return ctx;
        return trace.setSpanContext(ctx, { traceId, spanId, traceFlags: 1, isRemote: true });
      },
      fields: () => ['x-custom-trace'],
    };
    propagation.setGlobalPropagator(custom);
    try {
      const headers: Record<string, unknown> = {};
      injectContext(producerContext(), headers);
      assert.deepEqual(Object.keys(headers), ['x-custom-trace']);
      assert.equal(extractIncoming(headers).remote?.spanId, SPAN_ID);
    } finally {
      propagation.disable();
    }
    assert.equal(context.active(), ROOT_CONTEXT);
  });
});

describe('invalid incoming context', () => {
  const cases: Array<[string, Record<string, unknown>, string[]]> = [
    ['garbage traceparent', { traceparent: 'hello world' }, ['traceparent_malformed']],
    ['binary traceparent', { traceparent: Buffer.from([0xff, 0x00, 0x13, 0x37]) }, ['traceparent_malformed']],
    [
      'oversized traceparent',
      { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01-${'x'.repeat(600)}` },
      ['traceparent_oversized'],
    ],
    ['uppercase hex', { traceparent: TRACEPARENT.toUpperCase() }, ['traceparent_malformed']],
    ['version ff', { traceparent: `ff-${TRACE_ID}-${SPAN_ID}-01` }, ['traceparent_malformed']],
    ['all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` }, ['traceparent_malformed']],
    ['all-zero span id', { traceparent: `00-${TRACE_ID}-${'0'.repeat(16)}-01` }, ['traceparent_malformed']],
    ['v00 with extra fields', { traceparent: `${TRACEPARENT}-extra` }, ['traceparent_malformed']],
    ['number traceparent', { traceparent: 42 }, ['header_type']],
    ['object traceparent', { traceparent: { nested: true } }, ['header_type']],
    [
      'conflicting repeated traceparents',
      { traceparent: [TRACEPARENT, `00-${'1'.repeat(32)}-${SPAN_ID}-01`] },
      ['traceparent_duplicate'],
    ],
    ['oversized baggage', { baggage: `k=${'v'.repeat(LIMITS.baggageLength)}` }, ['baggage_invalid']],
    ['control characters in baggage', { baggage: 'k=v\u0000' }, ['baggage_invalid']],
    ['control characters in correlation ID', { 'x-correlation-id': 'abc\ndef' }, ['correlation_id_invalid']],
    ['10 KB correlation ID', { 'x-correlation-id': 'c'.repeat(10_000) }, ['correlation_id_invalid']],
    ['empty correlation ID', { 'x-correlation-id': '' }, ['correlation_id_invalid']],
    ['non-ASCII correlation ID', { 'x-correlation-id': 'zahlung-ü' }, ['correlation_id_invalid']],
    ['object correlation ID', { 'x-correlation-id': { id: 1 } }, ['header_type']],
    ['garbage published-at', { 'x-hoptrace-published-at': 'yesterday' }, ['timestamp_invalid']],
    ['negative origin-at', { 'x-hoptrace-origin-at': -5 }, ['timestamp_invalid']],
    ['published-at in epoch seconds', { 'x-hoptrace-published-at': '1700000000' }, ['timestamp_invalid']],
    ['published-at as a small number', { 'x-hoptrace-published-at': 1.5 }, ['timestamp_invalid']],
    ['origin-at 14 digits (year 5138)', { 'x-hoptrace-origin-at': '99999999999999' }, ['timestamp_invalid']],
    ['oversized message id', { 'x-hoptrace-message-id': 'm'.repeat(300) }, ['message_id_invalid']],
  ];
  for (const [name, headers, reasons] of cases) {
    it(`ignores and reports: ${name}`, () => {
      let incoming: ReturnType<typeof extractIncoming> | undefined;
      assert.doesNotThrow(() => {
        incoming = extractIncoming(headers);
      });
      assert.deepEqual(incoming?.invalid, reasons);
      assert.equal(incoming?.remote, undefined, 'no remote parent: a new trace starts');
    });
  }

  it('keeps a valid traceparent when only the tracestate is bad (oversized, too many members)', () => {
    for (const tracestate of [
      `a=${'b'.repeat(LIMITS.tracestateLength)}`,
      Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(','),
    ]) {
      const incoming = extractIncoming({ traceparent: TRACEPARENT, tracestate });
      assert.equal(incoming.remote?.spanId, SPAN_ID);
      assert.equal(incoming.remote?.traceState, undefined);
      assert.deepEqual(incoming.invalid, ['tracestate_invalid']);
    }
  });

  it('accepts identical repeated traceparents and a future version with extra fields', () => {
    assert.equal(
      extractIncoming({ traceparent: [TRACEPARENT, Buffer.from(TRACEPARENT)] }).remote?.spanId,
      SPAN_ID,
    );
    assert.equal(
      extractIncoming({ traceparent: `01-${TRACE_ID}-${SPAN_ID}-01-future` }).remote?.spanId,
      SPAN_ID,
    );
  });

  it('treats missing, null and non-object carriers as "no context"', () => {
    for (const carrier of [undefined, null, 'text' as unknown as Record<string, unknown>, {}]) {
      const incoming = extractIncoming(carrier);
      assert.equal(incoming.remote, undefined);
      assert.deepEqual(incoming.invalid, []);
    }
  });
});
