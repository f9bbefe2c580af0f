import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  destinationAttributes,
  destinationLabelOf,
  destinationPlaceholder,
  NAMED_DESTINATION,
  traitsOfName,
} from './destinations.js';

describe('temporary and anonymous destinations', () => {
  it('knows generated names and direct reply-to by name alone', () => {
    assert.deepEqual(traitsOfName('amq.gen-CpkRAi47W3612NyfPLLULg'), { temporary: false, anonymous: true });
    assert.deepEqual(traitsOfName('spring.gen-Xyz'), { temporary: false, anonymous: true });
    assert.deepEqual(traitsOfName('rpc-reply.5f0c9d3e-2b1a-4c8e-9f7a-1d2e3f4a5b6c'), {
      temporary: false,
      anonymous: true,
    });
    assert.deepEqual(traitsOfName('reply.5F0C9D3E2B1A4C8E9F7A1D2E3F4A5B6C'), {
      temporary: false,
      anonymous: true,
    });
    assert.deepEqual(traitsOfName('amq.rabbitmq.reply-to'), { temporary: true, anonymous: false });
    assert.deepEqual(traitsOfName('amq.rabbitmq.reply-to.g1h2AA=='), { temporary: true, anonymous: false });
    for (const name of [
      'orders',
      'amq.default',
      'amq.topic',
      'billing.v2',
      'amq.rabbitmq.reply-toast',
      'deadbeef',
    ])
      assert.deepEqual(traitsOfName(name), NAMED_DESTINATION, name);
  });

  it('puts the placeholder in names and labels and keeps the real name as an attribute', () => {
    assert.equal(destinationPlaceholder({ temporary: true, anonymous: true }), '(temporary)');
    assert.equal(destinationPlaceholder({ temporary: false, anonymous: true }), '(anonymous)');
    assert.equal(destinationPlaceholder(NAMED_DESTINATION), undefined);
    assert.deepEqual(destinationAttributes('amq.gen-1', { temporary: true, anonymous: true }), {
      'messaging.destination.name': 'amq.gen-1',
      'messaging.destination.temporary': true,
      'messaging.destination.anonymous': true,
      'messaging.destination.template': '(temporary)',
    });
    assert.deepEqual(destinationAttributes('orders', NAMED_DESTINATION), {
      'messaging.destination.name': 'orders',
    });
  });

  it('reads the label back from span attributes: template, flags, then the name rule', () => {
    assert.equal(
      destinationLabelOf('amq.gen-1', { 'messaging.destination.template': '(temporary)' }),
      '(temporary)',
    );
    assert.equal(destinationLabelOf('mine', { 'messaging.destination.temporary': true }), '(temporary)');
    assert.equal(destinationLabelOf('mine', { 'messaging.destination.anonymous': true }), '(anonymous)');
    assert.equal(destinationLabelOf('amq.gen-2', {}), '(anonymous)');
    assert.equal(destinationLabelOf('orders', {}), 'orders');
    assert.equal(destinationLabelOf('orders', { 'messaging.destination.temporary': 'yes' }), 'orders');
  });
});
