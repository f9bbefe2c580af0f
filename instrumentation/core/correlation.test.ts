import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { installContextManager } from '../../test/helpers/tracing.js';
import {
  currentCorrelationId,
  isValidCorrelationId,
  MAX_CORRELATION_ID_LENGTH,
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
