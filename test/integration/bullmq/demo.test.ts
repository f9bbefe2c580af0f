/**
 * `hoptrace demo --broker bullmq` on the real Redis, and its spans through the collector's linker: per
 * order one journey with the fan-out (email, flow parent, two children), hop latencies, the email's
 * retries ending in the failed set, and the flow parent processed after its children.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Registry } from 'prom-client';
import { runBullMQDemo } from '../../../cli/demo/bullmq.js';
import { Linker } from '../../../collector/linker/linker.js';
import { fromReadableSpan } from '../../../collector/otlp/readable-span.js';
import type { JourneyDelivery, JourneyPublish } from '../../../collector/types.js';
import { METRIC_DEAD_LETTERED } from '../../../instrumentation/core/semconv.js';
import { createTestTracing } from '../../helpers/tracing.js';
import { metricValue, redis, redisUrl } from './helpers.js';

function deliveries(publishes: JourneyPublish[]): JourneyDelivery[] {
  return publishes.flatMap((p) => p.deliveries.flatMap((d) => [d, ...deliveries(d.publishes)]));
}

it('the BullMQ demo: one journey per order with fan-out, hop latencies, a failed email and a flow', async (t) => {
  if (!(await redis(t))) return;
  const tracing = createTestTracing();
  const registry = new Registry();
  const result = await runBullMQDemo({
    url: redisUrl(),
    orders: 3,
    tracerProvider: tracing.provider,
    registry,
  });
  assert.deepEqual(result.handled, { billing: 3, mailer: 5, warehouse: 6, shipping: 3 });
  assert.deepEqual(result.failedEmails, [result.correlationIds[2]]);
  assert.equal(result.failedSet, 1);
  assert.equal(
    await metricValue(registry, METRIC_DEAD_LETTERED, {
      messaging_destination_name: result.queues.emails,
      reason: 'max_attempts',
    }),
    1,
  );

  const linker = new Linker();
  linker.ingest(tracing.spans().map(fromReadableSpan));
  linker.finalize();
  for (const [i, correlationId] of result.correlationIds.entries()) {
    const journey = linker.journey(correlationId);
    assert.ok(journey, correlationId);
    const failing = i === 2;
    assert.deepEqual(journey.counts, {
      publishes: 5,
      deliveries: failing ? 7 : 5, // every attempt
      retries: failing ? 2 : 0,
      deadLetters: failing ? 1 : 0,
      duplicates: 0,
      orphans: 0,
      unconsumed: 0,
    });
    assert.equal(journey.traceIds.length, 1, 'one trace');
    const all = deliveries(journey.publishes);
    const by = (queue: string) => all.filter((d) => d.destination === queue);
    assert.deepEqual(
      [result.queues.orders, result.queues.emails, result.queues.warehouse, result.queues.shipping].map(
        (q) => by(q).length,
      ),
      [1, 1, 2, 1],
    );
    for (const d of all) assert.ok(d.hopLatencyMs !== undefined && d.hopLatencyMs >= 0, 'hop latency');
    const email = by(result.queues.emails)[0]!;
    assert.equal(email.outcome, failing ? 'dead_letter' : 'ack');
    assert.deepEqual(
      email.attempts.map((a) => a.attempt),
      failing ? [1, 2, 3] : [1],
    );
    // The flow parent starts after both children ended.
    const ship = by(result.queues.shipping)[0]!.attempts[0]!;
    const childrenEnd = Math.max(
      ...by(result.queues.warehouse).map(
        (d) => Date.parse(d.attempts[0]!.startTime) + d.attempts[0]!.durationMs,
      ),
    );
    assert.ok(Date.parse(ship.startTime) >= Math.floor(childrenEnd), 'parent after children');
  }
});
