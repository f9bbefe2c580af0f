/**
 * A consume handler whose promise comes from another realm (a `vm` context, as jest's module sandbox
 * makes them) is awaited like a native one: the span ends when that promise settles. (A rejecting one:
 * handler-failure.test.ts, `reject-foreign`, in a child process since it must stay unhandled.)
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { SpanKind } from '@opentelemetry/api';
import { currentCorrelationId } from '../../../instrumentation/core/correlation.js';
import type { MetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { rabbit, unique, waitFor } from './helpers.js';

/** A promise made in a fresh realm: not `instanceof Promise` here. */
function foreignDelay(ms: number): Promise<string> {
  return runInNewContext('new Promise((resolve) => setTimeout(() => resolve("done"), ms))', {
    setTimeout,
    ms,
  }) as Promise<string>;
}

it('a handler returning a promise from vm.runInNewContext is awaited like a native one', async (t) => {
  const fx = await rabbit(t);
  if (!fx) return;
  try {
    const ch = await fx.conn.createChannel();
    const queue = unique('realm');
    await ch.assertQueue(queue, { durable: false });
    const flows: (string | undefined)[] = [];
    let foreign = false;
    await ch.consume(queue, (msg) => {
      if (!msg) return;
      const promise = foreignDelay(150);
      foreign = !(promise instanceof Promise);
      // The handler's context holds across the foreign promise's continuation; the ack comes after it.
      return promise.then(() => {
        flows.push(currentCorrelationId());
        ch.ack(msg);
      });
    });
    ch.sendToQueue(queue, Buffer.from('ok'), { correlationId: 'realm-ok' });
    await waitFor(() => fx.tracing.spans().some((s) => s.kind === SpanKind.CONSUMER), 'the consumer span');
    assert.equal(foreign, true, "the promise is not an instance of this realm's Promise");
    const span = fx.tracing.spans().find((s) => s.kind === SpanKind.CONSUMER);
    const ms = span!.duration[0] * 1000 + span!.duration[1] / 1e6;
    assert.ok(ms >= 140, `the span lasted until the foreign promise settled (${ms} ms)`);
    assert.equal(span?.attributes['hoptrace.outcome'], 'ack');
    assert.equal(span?.attributes['hoptrace.unsettled'], undefined);
    assert.deepEqual(flows, ['realm-ok']);
    // The process duration is the foreign promise's time, not the synchronous return's.
    const seconds = await processSeconds(fx.registry, queue);
    assert.ok(seconds >= 0.14, `process duration ${seconds} s`);
  } finally {
    await fx.close();
  }
});

async function processSeconds(registry: MetricsRegistry, queue: string): Promise<number> {
  const metric = await registry.getSingleMetric('messaging_process_duration_seconds')?.get();
  const sum = metric?.values.find(
    (v) =>
      (v as { metricName?: string }).metricName === 'messaging_process_duration_seconds_sum' &&
      v.labels.messaging_destination_name === queue,
  );
  return sum?.value ?? 0;
}
