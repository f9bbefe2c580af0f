import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_KNOWN_QUEUES, queueTraits, Topology, topology } from './topology.js';

describe('temporary and anonymous queues', () => {
  it('learns exclusive and server-named declarations, and forgets deleted queues', () => {
    topology.declared('t.exclusive', { exclusive: true });
    topology.declared('amq.gen-abc', { exclusive: true }, true);
    topology.declared('t.server-named', {}, true);
    topology.declared('t.plain', { autoDelete: true });
    assert.deepEqual(queueTraits('t.exclusive', undefined), { temporary: true, anonymous: false });
    assert.deepEqual(queueTraits('amq.gen-abc', undefined), { temporary: true, anonymous: true });
    assert.deepEqual(queueTraits('t.server-named', undefined), { temporary: false, anonymous: true });
    // A named auto-delete queue keeps its name: the application chose it, it is not per call.
    assert.deepEqual(queueTraits('t.plain', undefined), { temporary: false, anonymous: false });
    topology.deleted('t.exclusive');
    assert.deepEqual(queueTraits('t.exclusive', undefined), { temporary: false, anonymous: false });
    // Declared again without exclusive: no longer temporary.
    topology.declared('amq.gen-abc', {});
    assert.deepEqual(queueTraits('amq.gen-abc', undefined), { temporary: false, anonymous: true });
  });

  it('the temporaryQueues option decides first: true, false, or undefined for the rule', () => {
    const option = (q: string) => (q.startsWith('reply.') ? true : q === 'amq.gen-keep' ? false : undefined);
    assert.deepEqual(queueTraits('reply.1', option), { temporary: true, anonymous: false });
    assert.deepEqual(queueTraits('amq.gen-keep', option), { temporary: false, anonymous: false });
    assert.deepEqual(queueTraits('amq.gen-other', option), { temporary: false, anonymous: true });
    assert.deepEqual(queueTraits('amq.rabbitmq.reply-to', option), { temporary: true, anonymous: false });
    assert.deepEqual(queueTraits('orders', option), { temporary: false, anonymous: false });
  });

  it('remembers at most MAX_KNOWN_QUEUES declarations', () => {
    const own = new Topology();
    for (let i = 0; i <= MAX_KNOWN_QUEUES; i++) own.declared(`q${i}`, { exclusive: true });
    assert.equal(own.traitsOf('q0'), undefined);
    assert.deepEqual(own.traitsOf(`q${MAX_KNOWN_QUEUES}`), { temporary: true, anonymous: false });
  });
});
