import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, createContextKey, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { installContextManager } from '../../test/helpers/tracing.js';
import { keySetBy, LayeredContext } from './context.js';

installContextManager();

const A = createContextKey('test.a');
const B = createContextKey('test.b');

describe('LayeredContext', () => {
  it('reads its own entries first, then the context it was derived from', () => {
    const base = ROOT_CONTEXT.setValue(A, 'base-a').setValue(B, 'base-b');
    const layered = LayeredContext.over(base).setValue(A, 'own-a');
    assert.equal(layered.getValue(A), 'own-a');
    assert.equal(layered.getValue(B), 'base-b');
    assert.equal(base.getValue(A), 'base-a', 'the base is not changed');
  });

  it('is immutable: every setValue and deleteValue returns a new context', () => {
    const first = LayeredContext.over(ROOT_CONTEXT).setValue(A, 1);
    const second = first.setValue(A, 2);
    const third = second.setValue(B, 3);
    assert.equal(first.getValue(A), 1);
    assert.equal(second.getValue(A), 2);
    assert.equal(second.getValue(B), undefined);
    assert.equal(third.getValue(A), 2);
    assert.equal(third.getValue(B), 3);
  });

  it('deleteValue hides the value of the base as well', () => {
    const base = ROOT_CONTEXT.setValue(A, 'base-a');
    const deleted = LayeredContext.over(base).setValue(B, 'b').deleteValue(A);
    assert.equal(deleted.getValue(A), undefined);
    assert.equal(deleted.getValue(B), 'b');
    assert.equal(deleted.setValue(A, 'again').getValue(A), 'again');
  });

  it('merges layers: deriving from a layered context never nests them', () => {
    const one = LayeredContext.over(ROOT_CONTEXT).setValue(A, 1);
    assert.equal(LayeredContext.over(one), one, 'over() returns a layered context unchanged');
    const two = one.setValue(B, 2);
    assert.ok(two instanceof LayeredContext);
    assert.equal((two as unknown as { base: unknown }).base, ROOT_CONTEXT);
  });

  it('works with the OTel API: spans, baggage and context.with', () => {
    const span = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });
    const baggage = propagation.createBaggage({ tenant: { value: 'acme' } });
    const ctx = propagation.setBaggage(trace.setSpan(LayeredContext.over(ROOT_CONTEXT), span), baggage);
    context.with(ctx, () => {
      assert.equal(trace.getActiveSpan(), span);
      assert.equal(propagation.getActiveBaggage()?.getEntry('tenant')?.value, 'acme');
      assert.equal(trace.getSpan(trace.deleteSpan(context.active())), undefined);
    });
  });

  it('setValues sets several entries in one copy, replacing existing ones, skipping undefined keys', () => {
    const C = createContextKey('test.c');
    const base = ROOT_CONTEXT.setValue(C, 'base-c');
    const one = LayeredContext.over(base).setValue(A, 1);
    const many = one.setValues(A, 'a', B, 'b', undefined, 'skipped');
    assert.equal(many.getValue(A), 'a');
    assert.equal(many.getValue(B), 'b');
    assert.equal(many.getValue(C), 'base-c');
    assert.equal(one.getValue(A), 1, 'the context it came from is unchanged');
    assert.equal(one.getValue(B), undefined);
    assert.equal((many as unknown as { entries: unknown[] }).entries.length, 4);
  });

  it('keySetBy finds the private keys of trace.setSpan and propagation.setBaggage', () => {
    const span = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });
    const baggage = propagation.createBaggage({ tenant: { value: 'acme' } });
    const spanKey = keySetBy((ctx) => trace.setSpan(ctx, span));
    const baggageKey = keySetBy((ctx) => propagation.setBaggage(ctx, baggage));
    assert.ok(spanKey && baggageKey);
    const ctx = LayeredContext.over(ROOT_CONTEXT).setValues(spanKey, span, baggageKey, baggage);
    assert.equal(trace.getSpan(ctx), span);
    assert.equal(propagation.getBaggage(ctx), baggage);
    assert.equal(
      keySetBy(() => undefined),
      undefined,
      'no key when nothing was set',
    );
  });
});
