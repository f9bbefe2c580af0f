import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { createPassThrough, wrappedState } from './proxy.js';

class FakeChannel extends EventEmitter {
  published: string[] = [];
  publish(key: string) {
    this.published.push(key);
    return true;
  }
  sendToQueue(queue: string) {
    // amqplib's own internal call: must reach the original, not the override.
    return this.publish(`queue:${queue}`);
  }
  chain() {
    return this;
  }
}

function wrap(channel: FakeChannel, calls: string[]) {
  return createPassThrough(channel, { id: 'state' }, (stand) => ({
    publish(key: string) {
      calls.push(key);
      return channel.publish(key) && stand !== undefined;
    },
  }));
}

describe('createPassThrough', () => {
  it('keeps instanceof, the constructor, reads and writes of the original', () => {
    const channel = new FakeChannel();
    const proxy = wrap(channel, []);
    assert.ok(proxy instanceof FakeChannel);
    assert.ok(proxy instanceof EventEmitter);
    assert.equal(proxy.constructor, FakeChannel);
    (proxy as unknown as { extra: number }).extra = 1;
    assert.equal((channel as unknown as { extra: number }).extra, 1);
    assert.deepEqual(Object.keys(proxy), Object.keys(channel));
  });

  it('runs methods on the original, so internal calls are not intercepted twice', () => {
    const channel = new FakeChannel();
    const calls: string[] = [];
    const proxy = wrap(channel, calls);
    proxy.publish('a');
    proxy.sendToQueue('q');
    assert.deepEqual(calls, ['a']);
    assert.deepEqual(channel.published, ['a', 'queue:q']);
  });

  it('returns the stand-in where the original returns itself, and passes events through', () => {
    const channel = new FakeChannel();
    const proxy = wrap(channel, []);
    assert.equal(proxy.chain(), proxy);
    let seen: unknown;
    assert.equal(
      proxy.on('drain', (v: unknown) => {
        seen = v;
      }),
      proxy,
    );
    channel.emit('drain', 7);
    assert.equal(seen, 7);
    assert.equal(proxy.publish, proxy.publish, 'stable method identity');
    assert.equal(proxy.on, proxy.on);
  });

  it('exposes its state only through wrappedState', () => {
    const channel = new FakeChannel();
    const proxy = wrap(channel, []);
    assert.deepEqual(wrappedState(proxy), { id: 'state' });
    assert.equal(wrappedState(channel), undefined);
    assert.equal(wrappedState(null), undefined);
    assert.equal(wrappedState(42), undefined);
  });
});
