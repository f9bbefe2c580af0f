import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, defaultTextMapSetter, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import { installContextManager } from '../../test/helpers/tracing.js';
import {
  CorrelationBaggage,
  currentCorrelationId,
  isValidCorrelationId,
  MAX_CORRELATION_ID_LENGTH,
  resolveIncomingCorrelationId,
  resolveOutgoingCorrelationId,
  setCorrelationId,
  withCorrelationId,
} from './correlation.js';

installContextManager();

function baggageContext(id: string) {
  return propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ 'correlation.id': { value: id } }));
}

describe('correlation ID', () => {
  it('validates: printable ASCII, 1 to 256 characters', () => {
    assert.equal(isValidCorrelationId('order-1 / eu'), true);
    assert.equal(isValidCorrelationId('x'.repeat(MAX_CORRELATION_ID_LENGTH)), true);
    for (const bad of [
      '',
      'x'.repeat(MAX_CORRELATION_ID_LENGTH + 1),
      'tab\there',
      'ünï',
      42,
      null,
      undefined,
    ]) {
      assert.equal(isValidCorrelationId(bad), false, String(bad));
    }
  });

  it('precedence: explicit > caller header > baggage > handled message > new', () => {
    const handled = setCorrelationId(ROOT_CONTEXT, 'handled');
    const withBaggage = propagation.setBaggage(
      handled,
      propagation.createBaggage({ 'correlation.id': { value: 'baggage' } }),
    );
    const gen = () => 'generated';
    assert.equal(resolveOutgoingCorrelationId('explicit', 'header', withBaggage, gen), 'explicit');
    assert.equal(resolveOutgoingCorrelationId(undefined, 'header', withBaggage, gen), 'header');
    assert.equal(resolveOutgoingCorrelationId(undefined, undefined, withBaggage, gen), 'baggage');
    // setCorrelationId writes both; drop the baggage to see the private key alone.
    assert.equal(
      resolveOutgoingCorrelationId(undefined, undefined, propagation.deleteBaggage(handled), gen),
      'handled',
    );
    assert.equal(resolveOutgoingCorrelationId(undefined, undefined, ROOT_CONTEXT, gen), 'generated');
    // Invalid values at any level fall through to the next one.
    assert.equal(resolveOutgoingCorrelationId('bad\n', 'x'.repeat(300), baggageContext('ok'), gen), 'ok');
  });

  it("the application's own correlation ID comes after the context and before a new one", () => {
    const gen = () => 'generated';
    const app = 'app-corr-77';
    assert.equal(resolveOutgoingCorrelationId(undefined, undefined, ROOT_CONTEXT, gen, app), app);
    assert.equal(resolveOutgoingCorrelationId(undefined, undefined, baggageContext('ctx'), gen, app), 'ctx');
    assert.equal(
      resolveOutgoingCorrelationId(undefined, undefined, setCorrelationId(ROOT_CONTEXT, 'handled'), gen, app),
      'handled',
    );
    assert.equal(resolveOutgoingCorrelationId(undefined, 'header', ROOT_CONTEXT, gen, app), 'header');
    assert.equal(resolveOutgoingCorrelationId(undefined, undefined, ROOT_CONTEXT, gen, 'bad\n'), 'generated');
    assert.equal(resolveOutgoingCorrelationId(undefined, undefined, ROOT_CONTEXT, gen, 77), 'generated');

    assert.equal(resolveIncomingCorrelationId('header', app, gen), 'header');
    assert.equal(resolveIncomingCorrelationId(undefined, app, gen), app);
    assert.equal(resolveIncomingCorrelationId(undefined, 'x'.repeat(300), gen), 'generated');
    assert.equal(resolveIncomingCorrelationId(undefined, undefined, gen), 'generated');
  });

  it('withCorrelationId sets it for sync and async code and as baggage, and restores after', async () => {
    assert.equal(currentCorrelationId(), undefined);
    await withCorrelationId('flow-9', async () => {
      assert.equal(currentCorrelationId(), 'flow-9');
      await new Promise((r) => setTimeout(r, 1));
      assert.equal(currentCorrelationId(), 'flow-9');
      assert.equal(propagation.getBaggage(context.active())?.getEntry('correlation.id')?.value, 'flow-9');
    });
    assert.equal(currentCorrelationId(), undefined);
  });

  it('reads a correlation ID that arrived as baggage (e.g. from an HTTP request)', () => {
    context.with(baggageContext('from-http'), () => assert.equal(currentCorrelationId(), 'from-http'));
    context.with(baggageContext('bad\u0001'), () => assert.equal(currentCorrelationId(), undefined));
  });

  it('withCorrelationId rejects an invalid ID with a TypeError', () => {
    assert.throws(() => withCorrelationId('', () => 1), TypeError);
    assert.throws(() => withCorrelationId('a\nb', () => 1), TypeError);
  });
});

describe('CorrelationBaggage', () => {
  const w3c = new W3CBaggagePropagator();

  it('behaves as the API baggage holding the same entry', () => {
    const own = new CorrelationBaggage('order-1');
    const api = propagation.createBaggage({ 'correlation.id': { value: 'order-1' } });
    assert.deepEqual(own.getAllEntries(), api.getAllEntries());
    assert.deepEqual(own.getEntry('correlation.id'), api.getEntry('correlation.id'));
    assert.equal(own.getEntry('tenant'), undefined);
    const more = own.setEntry('tenant', { value: 'acme' });
    assert.deepEqual(more.getAllEntries(), api.setEntry('tenant', { value: 'acme' }).getAllEntries());
    assert.deepEqual(own.removeEntry('correlation.id').getAllEntries(), []);
    assert.deepEqual(own.clear().getAllEntries(), []);
    assert.deepEqual(own.getAllEntries(), api.getAllEntries(), 'changes return new baggage');
  });

  it('writes the header the W3C propagator writes, also for values that need encoding', () => {
    for (const id of ['e0f6c2a4-7b1d-4a8e-9c3f-5d2b1a0e8f7c', 'order 1, eu;x=%']) {
      const carrier: Record<string, string> = {};
      w3c.inject(
        propagation.setBaggage(ROOT_CONTEXT, new CorrelationBaggage(id)),
        carrier,
        defaultTextMapSetter,
      );
      assert.equal(new CorrelationBaggage(id).header(), carrier.baggage);
    }
  });

  it('is what a new flow starts with, and a flow with other baggage keeps it', () => {
    const fresh = propagation.getBaggage(setCorrelationId(ROOT_CONTEXT, 'order-2'));
    assert.ok(fresh instanceof CorrelationBaggage);
    const tenant = propagation.setBaggage(
      ROOT_CONTEXT,
      propagation.createBaggage({ tenant: { value: 'acme' } }),
    );
    const merged = propagation.getBaggage(setCorrelationId(tenant, 'order-2'));
    assert.equal(merged?.getEntry('tenant')?.value, 'acme');
    assert.equal(merged?.getEntry('correlation.id')?.value, 'order-2');
  });
});
