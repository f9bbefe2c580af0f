import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { uniqueName } from '../../helpers/stack.js';

const url = stackEndpoint('HOPTRACE_REDIS_URL');

test('Redis: a job pushed by one connection is popped by a blocked other, on Redis >= 6.2', async (t) => {
  const producer = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  producer.on('error', () => {});
  if (!(await requireServer(t, 'Redis', () => producer.connect().then(() => producer.ping())))) return;
  t.after(() => producer.disconnect());
  const consumer = new Redis(url, { maxRetriesPerRequest: 1 });
  t.after(() => consumer.disconnect());

  const version = /redis_version:(\d+)\.(\d+)/.exec(await producer.info('server'));
  assert.ok(version, 'INFO server names the version');
  const [major, minor] = [Number(version[1]), Number(version[2])];
  assert.ok(
    major > 6 || (major === 6 && minor >= 2),
    `BullMQ recommends Redis >= 6.2, got ${major}.${minor}`,
  );

  // BRPOP of the last element deletes the key: nothing to clean up.
  const key = uniqueName('stack-smoke');
  const popped = consumer.brpop(key, 5);
  await producer.lpush(key, 'job-1');
  assert.deepEqual(await popped, [key, 'job-1']);
  assert.equal(await producer.exists(key), 0);
});
