import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { installContextManager } from '../../test/helpers/tracing.js';
import { createOpenMetricsRegistry } from '../core/metrics.js';
import { Bus } from './bus.js';
import { BusClosedError, BusOverflowError } from './errors.js';
import type { BusMessage, BusOptions } from './types.js';

// As in any service with an OTel SDK: async context follows awaits.
installContextManager();

const fast = { initialMs: 1, factor: 2, maxMs: 50 };

function newBus(options: BusOptions = {}): Bus {
  // A private registry per bus keeps metric assertions independent between tests.
  return new Bus({ registry: createOpenMetricsRegistry(), ...options });
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('Bus delivery', () => {
  it('fans out to every matching subscription exactly once', async () => {
    const bus = newBus();
    const seen: string[] = [];
    bus.subscribe('order.placed', () => void seen.push('exact'));
    bus.subscribe('order.*', () => void seen.push('star'));
    bus.subscribe('#', () => void seen.push('hash'));
    bus.subscribe('payment.*', () => void seen.push('other'));
    const result = await bus.publish('order.placed', { id: 1 });
    await bus.drain();
    assert.equal(result.deliveries, 3);
    assert.deepEqual(seen.sort(), ['exact', 'hash', 'star']);
    await bus.close();
  });

  it('delivers once per consumer group, spread round-robin across members', async () => {
    const bus = newBus();
    const byMember: Record<string, number> = { a: 0, b: 0, c: 0, solo: 0 };
    for (const member of ['a', 'b', 'c'])
      bus.subscribe('job.#', () => void byMember[member]!++, { group: 'workers' });
    bus.subscribe('job.run', () => void byMember.solo!++);
    for (let i = 0; i < 30; i++) await bus.publish('job.run', i);
    await bus.drain();
    assert.deepEqual(byMember, { a: 10, b: 10, c: 10, solo: 30 });
    await bus.close();
  });

  it("moves a group's round-robin on every topic, also where the group has one matching member", async () => {
    const bus = newBus();
    const seen: string[] = [];
    bus.subscribe('#', (m: BusMessage) => void seen.push(`all:${m.topic}`), { group: 'workers' });
    bus.subscribe('b.*', (m: BusMessage) => void seen.push(`b:${m.topic}`), { group: 'workers' });
    await bus.publish('a.x', 1); // only 'all' matches: the group's cursor moves 0 -> 1
    await bus.publish('b.x', 2); // two members: the cursor (1) picks the second
    await bus.publish('b.x', 3);
    await bus.publish('a.x', 4);
    await bus.publish('b.x', 5); // the cursor is at 4: the first member
    await bus.drain();
    assert.deepEqual(seen, ['all:a.x', 'b:b.x', 'all:b.x', 'all:a.x', 'all:b.x']);
    await bus.close();
  });

  it('keeps per-subscription order at concurrency 1 even with async handlers', async () => {
    const bus = newBus();
    const order: number[] = [];
    bus.subscribe('seq', async (m: BusMessage<number>) => {
      await new Promise((r) => setTimeout(r, (10 - m.payload) % 3));
      order.push(m.payload);
    });
    for (let i = 0; i < 10; i++) await bus.publish('seq', i);
    await bus.drain();
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await bus.close();
  });

  it('runs up to `concurrency` handlers at once', async () => {
    const bus = newBus();
    let running = 0;
    let peak = 0;
    bus.subscribe(
      'work',
      async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      },
      { concurrency: 4 },
    );
    for (let i = 0; i < 20; i++) await bus.publish('work', i);
    await bus.drain();
    assert.equal(peak, 4);
    await bus.close();
  });
});

describe('Bus retries and dead letters', () => {
  it('retries with exponential backoff, then dead-letters with reason and attempts', async () => {
    const errors: Array<{ error: unknown; attempt: number; willRetry: boolean }> = [];
    const bus = newBus({
      onError: (error, info) => errors.push({ error, attempt: info.attempt, willRetry: info.willRetry }),
    });
    const attemptsAt: number[] = [];
    const boom = new Error('card declined');
    bus.subscribe(
      'order.placed',
      () => {
        attemptsAt.push(performance.now());
        throw boom;
      },
      { group: 'email', maxAttempts: 4, backoff: { initialMs: 20, factor: 2, maxMs: 1000 } },
    );
    const dead: BusMessage[] = [];
    bus.subscribe('#.dlq', (m) => void dead.push(m));

    const { correlationId } = await bus.publish('order.placed', { id: 7 }, { correlationId: 'flow-7' });
    await bus.drain();

    assert.equal(correlationId, 'flow-7');
    assert.equal(attemptsAt.length, 4);
    const gaps = attemptsAt.slice(1).map((t, i) => t - (attemptsAt[i] as number));
    // 20, 40, 80 ms: each gap at least its backoff and growing.
    assert.ok(
      (gaps[0] as number) >= 19 && (gaps[1] as number) >= 39 && (gaps[2] as number) >= 79,
      `gaps ${gaps}`,
    );
    assert.ok((gaps[0] as number) < (gaps[1] as number) && (gaps[1] as number) < (gaps[2] as number));
    assert.deepEqual(
      errors.map((e) => [e.attempt, e.willRetry, e.error === boom]),
      [
        [1, true, true],
        [2, true, true],
        [3, true, true],
        [4, false, true],
      ],
    );
    assert.equal(dead.length, 1);
    const letter = dead[0] as BusMessage;
    assert.equal(letter.topic, 'order.placed.dlq');
    assert.deepEqual(letter.payload, { id: 7 });
    assert.equal(letter.correlationId, 'flow-7');
    assert.equal(letter.headers['x-hoptrace-dead-letter-reason'], 'max_attempts');
    assert.equal(letter.headers['x-hoptrace-dead-letter-attempts'], '4');
    assert.equal(letter.headers['x-hoptrace-dead-letter-source'], 'order.placed');
    assert.equal(letter.headers['x-hoptrace-dead-letter-group'], 'email');
    assert.equal(letter.headers['x-hoptrace-dead-letter-error'], 'Error: card declined');
    await bus.close();
  });

  it('succeeds on a retry without dead-lettering', async () => {
    const bus = newBus();
    let calls = 0;
    bus.subscribe(
      'flaky',
      () => {
        calls++;
        if (calls < 3) throw new Error('transient');
      },
      { maxAttempts: 3, backoff: fast },
    );
    const dead: unknown[] = [];
    bus.subscribe('#.dlq', (m) => void dead.push(m));
    await bus.publish('flaky', null);
    await bus.drain();
    assert.equal(calls, 3);
    assert.equal(dead.length, 0);
    assert.equal(bus.stats().find((s) => s.pattern === 'flaky')?.processed, 1);
    await bus.close();
  });

  it('uses a named dead-letter topic, or none', async () => {
    const bus = newBus();
    bus.subscribe('a', () => Promise.reject(new Error('x')), {
      maxAttempts: 1,
      deadLetterTopic: 'graveyard',
    });
    bus.subscribe('b', () => Promise.reject(new Error('y')), { maxAttempts: 1, deadLetterTopic: false });
    const got: string[] = [];
    bus.subscribe('#', (m) => void got.push(m.topic));
    await bus.publish('a', 1);
    await bus.publish('b', 2);
    await bus.drain();
    assert.deepEqual(got.sort(), ['a', 'b', 'graveyard']);
    await bus.close();
  });
});

describe('Bus backpressure and close', () => {
  it("makes publish wait for room with overflow 'wait'", async () => {
    const bus = newBus();
    const gate = deferred();
    const handled: number[] = [];
    bus.subscribe(
      'slow',
      async (m: BusMessage<number>) => {
        await gate.promise;
        handled.push(m.payload);
      },
      { maxQueueSize: 2 },
    );
    // 1 in flight + 2 queued fill it; the 4th publish must wait.
    for (let i = 0; i < 3; i++) await bus.publish('slow', i);
    let fourthDone = false;
    const fourth = bus.publish('slow', 3).then(() => {
      fourthDone = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(fourthDone, false);
    assert.equal(bus.pending(), 3);
    gate.resolve();
    await fourth;
    await bus.drain();
    assert.deepEqual(handled, [0, 1, 2, 3]);
    await bus.close();
  });

  it("rejects with BusOverflowError and queues nothing anywhere with overflow 'reject'", async () => {
    const bus = newBus();
    const gate = deferred();
    let other = 0;
    bus.subscribe('evt', () => gate.promise, { maxQueueSize: 1, overflow: 'reject' });
    bus.subscribe('evt', () => void other++);
    await bus.publish('evt', 1); // in flight
    await bus.publish('evt', 2); // queued
    await assert.rejects(bus.publish('evt', 3), (err: unknown) => {
      assert.ok(err instanceof BusOverflowError);
      assert.equal(err.code, 'HOPTRACE_BUS_OVERFLOW');
      return true;
    });
    gate.resolve();
    await bus.drain();
    assert.equal(other, 2);
    await bus.close();
  });

  it('close() drains queued work and retries, then refuses publishes', async () => {
    const bus = newBus();
    const done: number[] = [];
    let failures = 0;
    bus.subscribe(
      'q',
      async (m: BusMessage<number>) => {
        await new Promise((r) => setTimeout(r, 2));
        if (m.payload === 2 && failures++ === 0) throw new Error('once');
        done.push(m.payload);
      },
      { backoff: fast },
    );
    for (let i = 0; i < 5; i++) await bus.publish('q', i);
    await bus.close();
    assert.deepEqual(done, [0, 1, 2, 3, 4]);
    assert.equal(bus.pending(), 0);
    await assert.rejects(bus.publish('q', 9), BusClosedError);
  });

  it('close() still accepts what its own handlers publish while draining, and nothing from outside', async () => {
    const bus = newBus();
    const shipped: number[] = [];
    bus.subscribe('order', async (m: BusMessage<number>) => {
      await new Promise((r) => setTimeout(r, 2));
      await bus.publish('ship', m.payload);
    });
    bus.subscribe('ship', (m: BusMessage<number>) => void shipped.push(m.payload));
    await bus.publish('order', 1);
    await bus.publish('order', 2);
    const closed = bus.close();
    await assert.rejects(bus.publish('order', 3), BusClosedError);
    await closed;
    assert.deepEqual(shipped, [1, 2]);
  });
});
