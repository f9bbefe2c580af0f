/**
 * hoptrace and `@google-cloud/pubsub`'s own OpenTelemetry tracing (`enableOpenTelemetryTracing`) keep one
 * trace, both ways: hoptrace publisher -> consumer with only the client's tracing, and client-traced
 * publisher -> hoptrace consumer. The client's switch is process-wide, so this file turns it on for its
 * whole process, and the case "hoptrace publisher with the client's tracing off" runs in a child process.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Message } from '@google-cloud/pubsub';
import { SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { fromReadableSpan } from '../../../collector/otlp/readable-span.js';
import { startCollector } from '../../../collector/start.js';
import { METRIC_UNCONSUMED } from '../../../instrumentation/core/semconv.js';
import { metricSum } from '../../helpers/collector.js';
import { createTestTracing } from '../../helpers/tracing.js';
import { emulatorHost, pubsubFixture, rawPubSub, until } from './helpers.js';

const run = promisify(execFile);
const tracing = createTestTracing();
trace.setGlobalTracerProvider(tracing.provider);
const clientScope = (s: ReadableSpan) => s.instrumentationScope.name === '@google-cloud/pubsub';
const ours = (s: ReadableSpan) => s.instrumentationScope.name === 'hoptrace';

describe("Pub/Sub: interop with the client's own OpenTelemetry tracing", () => {
  it('hoptrace publisher (client tracing on) -> consumer with only the client tracing: one trace', async (t) => {
    const fx = await pubsubFixture(
      t,
      { tracerProvider: tracing.provider },
      { enableOpenTelemetryTracing: true },
    );
    if (!fx) return;
    const plain = rawPubSub({ enableOpenTelemetryTracing: true });
    try {
      tracing.reset();
      const topic = await fx.topic('interop-a');
      const sub = await fx.subscription(topic, 'interop-a-sub');
      const received: Message[] = [];
      fx.listen(
        sub,
        (m) => {
          received.push(m);
          m.ack();
        },
        plain,
      );
      const id = await fx.pubsub.topic(topic.name).publishMessage({ data: Buffer.from('a') });
      await until(() => received.length === 1, 'the message');
      await until(
        () => tracing.spans().some((s) => clientScope(s) && s.kind === SpanKind.CONSUMER),
        'subscribe span',
      );
      const spans = tracing.spans();
      const send = spans.find((s) => ours(s) && s.kind === SpanKind.PRODUCER)!;
      const create = spans.find((s) => clientScope(s) && s.name.endsWith(' create'))!;
      const subscribe = spans.find((s) => clientScope(s) && s.kind === SpanKind.CONSUMER)!;
      assert.equal(
        create.parentSpanContext?.spanId,
        send.spanContext().spanId,
        "the client's create span is under ours",
      );
      assert.equal(subscribe.spanContext().traceId, send.spanContext().traceId);
      assert.equal(subscribe.parentSpanContext?.spanId, create.spanContext().spanId);
      // The client wrote its own googclient_traceparent (hoptrace leaves it to the client when its tracing is on).
      assert.match(
        received[0]!.attributes.googclient_traceparent!,
        new RegExp(`^00-${send.spanContext().traceId}-${create.spanContext().spanId}-01$`),
      );

      // The collector ignores the client's own spans: one publish, no phantom unconsumed publishes.
      const collector = await startCollector({
        port: 0,
        limits: { unconsumedDeadlineMs: 200, linkWindowMs: 200, sweepIntervalMs: 50 },
      });
      try {
        await collector.ingestSpans(spans.map(fromReadableSpan));
        const journey = (await (await fetch(`${collector.url}/api/messages/${id}`)).json()) as {
          publishes: unknown[];
        };
        assert.equal(journey.publishes.length, 1);
        await new Promise((r) => setTimeout(r, 400));
        // Ours went unconsumed (the consumer had no hoptrace); the client's create and send spans are not publishes.
        assert.equal(await metricSum(collector.metrics, METRIC_UNCONSUMED), 1);
      } finally {
        await collector.close();
      }
    } finally {
      await plain.close();
      await fx.close();
    }
  });

  it('publisher with only the client tracing -> hoptrace consumer: one trace', async (t) => {
    const fx = await pubsubFixture(
      t,
      { tracerProvider: tracing.provider },
      { enableOpenTelemetryTracing: true },
    );
    if (!fx) return;
    const plain = rawPubSub({ enableOpenTelemetryTracing: true });
    try {
      tracing.reset();
      const topic = await fx.topic('interop-b');
      const sub = await fx.subscription(topic, 'interop-b-sub');
      fx.listen(sub, (m) => m.ack());
      await plain.topic(topic.name).publishMessage({ data: Buffer.from('b') });
      await until(() => tracing.spans().some((s) => ours(s) && s.kind === SpanKind.CONSUMER), 'process span');
      const spans = tracing.spans();
      const create = spans.find((s) => clientScope(s) && s.name.endsWith(' create'))!;
      const processSpan = spans.find((s) => ours(s) && s.kind === SpanKind.CONSUMER)!;
      assert.equal(processSpan.spanContext().traceId, create.spanContext().traceId);
      assert.equal(processSpan.parentSpanContext?.spanId, create.spanContext().spanId);
    } finally {
      await plain.close();
      await fx.close();
    }
  });

  it('hoptrace publisher with the client tracing off -> consumer with only the client tracing: one trace', async (t) => {
    const fx = await pubsubFixture(t, { tracerProvider: tracing.provider });
    if (!fx) return;
    const plain = rawPubSub({ enableOpenTelemetryTracing: true });
    try {
      tracing.reset();
      const topic = await fx.topic('interop-c');
      const sub = await fx.subscription(topic, 'interop-c-sub');
      const received: Message[] = [];
      fx.listen(
        sub,
        (m) => {
          received.push(m);
          m.ack();
        },
        plain,
      );
      const child = join(import.meta.dirname, 'fixtures', 'publish-child.js');
      const { stdout } = await run(process.execPath, [child, emulatorHost(), topic.name], {
        timeout: 20_000,
      });
      const published = JSON.parse(stdout) as { traceId: string; spanId: string };
      await until(
        () => tracing.spans().some((s) => clientScope(s) && s.kind === SpanKind.CONSUMER),
        'subscribe span',
      );
      const subscribe = tracing.spans().find((s) => clientScope(s) && s.kind === SpanKind.CONSUMER)!;
      assert.equal(subscribe.spanContext().traceId, published.traceId);
      assert.equal(subscribe.parentSpanContext?.spanId, published.spanId);
      assert.equal(received[0]!.attributes.googclient_traceparent, received[0]!.attributes.traceparent);
    } finally {
      await plain.close();
      await fx.close();
    }
  });
});
