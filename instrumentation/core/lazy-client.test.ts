import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LazyClient } from './lazy-client.js';

describe('LazyClient', () => {
  it('connects once for concurrent callers, forgets a failed connect, disconnects what it made', async () => {
    const events: string[] = [];
    let made = 0;
    let failNext = true;
    const lazy = new LazyClient(
      async () => ({ id: ++made }),
      async (client) => {
        events.push(`connect ${client.id}`);
        if (failNext) {
          failNext = false;
          throw new Error('broker down');
        }
      },
      async (client) => void events.push(`disconnect ${client.id}`),
    );
    const [a, b] = await Promise.allSettled([lazy.get(), lazy.get()]);
    assert.equal(a.status, 'rejected');
    assert.equal(b.status, 'rejected');
    const [c, d] = await Promise.all([lazy.get(), lazy.get()]);
    assert.equal(c, d);
    assert.equal(c.id, 2, 'a new client after the failed one');
    await lazy.close();
    await lazy.close();
    assert.deepEqual(events, ['connect 1', 'connect 2', 'disconnect 2']);
  });
});
