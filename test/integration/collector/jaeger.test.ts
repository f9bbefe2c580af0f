/**
 * Forwarding to the real Jaeger: with consumers in link mode (each delivery in its own trace), the
 * producer's trace in Jaeger lists every delivery through the collector's synthetic spans, each a
 * child of the producer span.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { startCollector } from '../../../collector/start.js';
import { Bus } from '../../../instrumentation/bus/bus.js';
import { withCorrelationId } from '../../../instrumentation/core/correlation.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { otlpProtobuf, processSpan, publishSpan } from '../../helpers/collector.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { installContextManager } from '../../helpers/tracing.js';

const QUERY = stackEndpoint('HOPTRACE_JAEGER_QUERY_URL');
const OTLP = stackEndpoint('HOPTRACE_JAEGER_OTLP_URL');

interface JaegerSpan {
  spanID: string;
  operationName: string;
  references: { refType: string; spanID: string; traceID: string }[];
  processID: string;
  tags: { key: string; value: unknown }[];
}
interface JaegerTrace {
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

async function jaegerTrace(traceId: string, expectSpans: number): Promise<JaegerTrace> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await fetch(`${QUERY}/api/traces/${traceId}`);
    if (response.ok) {
      const body = (await response.json()) as { data: JaegerTrace[] };
      const trace = body.data?.[0];
      if (trace && trace.spans.length >= expectSpans) return trace;
    }
    if (Date.now() > deadline)
      throw new Error(`Jaeger did not show ${expectSpans} spans of trace ${traceId}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('forwarding to Jaeger', () => {
  it("shows every link-mode delivery in the producer's trace", async (t) => {
    if (
      !(await requireServer(t, 'Jaeger', () =>
        fetch(`${QUERY}/api/services`).then((r) => r.ok || Promise.reject(new Error(`HTTP ${r.status}`))),
      ))
    ) {
      return;
    }
    const id = randomBytes(4).toString('hex');
    const collector = await startCollector({
      port: 0,
      forwardOtlpUrl: OTLP,
      forward: { flushIntervalMs: 50 },
    });
    try {
      const pub = publishSpan({
        service: `orders-${id}`,
        destination: 'orders',
        correlationId: `jaeger-${id}`,
        at: 0,
      });
      const groups = ['billing', 'shipping', 'email'];
      const deliveries = groups.map((g, i) =>
        processSpan(pub, {
          service: `${g}-${id}`,
          destination: g,
          group: g,
          mode: 'link',
          outcome: 'ack',
          at: 5 + i,
        }),
      );
      const response = await fetch(`${collector.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: otlpProtobuf([...deliveries, pub]),
      });
      assert.equal(response.status, 200);

      const trace = await jaegerTrace(pub.traceId, 4);
      const producer = trace.spans.find((s) => s.spanID === pub.spanId);
      assert.ok(producer, 'the producer span is in its trace');
      const delivered = trace.spans.filter((s) => s.operationName.startsWith('deliver '));
      assert.deepEqual(
        delivered.map((s) => s.operationName).sort(),
        groups.map((g) => `deliver ${g}`).sort(),
      );
      for (const span of delivered) {
        const parent = span.references.find((r) => r.refType === 'CHILD_OF');
        assert.equal(parent?.spanID, pub.spanId, 'child of the producer span');
        const follows = span.references.filter((r) => r.refType !== 'CHILD_OF').map((r) => r.spanID);
        const service = trace.processes[span.processID].serviceName;
        const consumer = deliveries.find((d) => d.serviceName === service);
        assert.ok(consumer, `synthetic span carries the consumer's service (${service})`);
        assert.ok(follows.includes(consumer.spanId), 'and a link to the consumer span');
      }
      // The consumer spans themselves stay in their own traces.
      const own = await jaegerTrace(deliveries[0].traceId, 1);
      assert.equal(own.spans[0].spanID, deliveries[0].spanId);
    } finally {
      await collector.close();
    }
  });

  it("shows every delivery of a real Bus flow in link mode in the producer's trace", async (t) => {
    if (
      !(await requireServer(t, 'Jaeger', () =>
        fetch(`${QUERY}/api/services`).then((r) => r.ok || Promise.reject(new Error(`HTTP ${r.status}`))),
      ))
    ) {
      return;
    }
    installContextManager();
    const id = randomBytes(4).toString('hex');
    const collector = await startCollector({
      port: 0,
      forwardOtlpUrl: OTLP,
      forward: { flushIntervalMs: 50 },
    });
    try {
      const provider = new TracerProvider({
        resource: resourceFromAttributes({ 'service.name': `shop-${id}` }),
        spanProcessors: [
          new BatchSpanProcessor({
            exporter: new OTLPTraceExporter({ url: `${collector.url}/v1/traces` }),
            scheduledDelayMillis: 20,
          }),
        ],
      });
      const bus = new Bus({
        name: 'orders',
        tracerProvider: provider,
        registry: createOpenMetricsRegistry(),
        linkMode: 'link',
      });
      const fast = { initialMs: 1, factor: 1, maxMs: 1 };
      bus.subscribe('order.placed', () => {}, { group: 'billing', serviceName: `billing-${id}` });
      bus.subscribe('order.placed', () => {}, { group: 'inventory', serviceName: `inventory-${id}` });
      bus.subscribe(
        'order.placed',
        () => {
          throw new Error('bounce');
        },
        { group: 'email', serviceName: `email-${id}`, maxAttempts: 2, backoff: fast, deadLetterTopic: false },
      );
      await withCorrelationId(`jaeger-bus-${id}`, () => bus.publish('order.placed', { id }));
      await bus.close();
      await provider.forceFlush();
      await provider.shutdown();

      const journey = collector.linker.journey(`jaeger-bus-${id}`);
      const root = journey?.publishes[0];
      assert.ok(root, 'the flow reached the collector');
      const attempts = root.deliveries.flatMap((d) => d.attempts);
      assert.equal(attempts.length, 4, 'billing, inventory, email x2');
      for (const a of attempts)
        assert.notEqual(a.traceId, root.traceId, 'link mode: each delivery in its own trace');

      const trace = await jaegerTrace(root.traceId, 1 + attempts.length);
      const delivered = trace.spans.filter((s) => s.operationName === 'deliver order.placed');
      assert.equal(delivered.length, attempts.length);
      for (const span of delivered) {
        assert.equal(span.references.find((r) => r.refType === 'CHILD_OF')?.spanID, root.spanId);
      }
      assert.deepEqual(delivered.map((s) => trace.processes[s.processID].serviceName).sort(), [
        `billing-${id}`,
        `email-${id}`,
        `email-${id}`,
        `inventory-${id}`,
      ]);
    } finally {
      await collector.close();
    }
  });
});
