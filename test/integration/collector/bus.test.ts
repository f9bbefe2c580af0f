/**
 * Spans from the real in-process Bus, exported by the official OTel OTLP/HTTP exporter (JSON), go
 * through the collector: journeys, hop latencies, fan-out, retries, dead letters, orphans and
 * duplicates are exact, in parent mode and in link mode (where synthetic spans are needed).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { startCollector } from '../../../collector/start.js';
import { Bus } from '../../../instrumentation/bus/bus.js';
import { withCorrelationId } from '../../../instrumentation/core/correlation.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import {
  METRIC_DEAD_LETTER_HOPS,
  METRIC_DUPLICATE_DELIVERIES,
  METRIC_FANOUT_DELIVERIES,
  METRIC_HOP_LATENCY,
  METRIC_ORPHAN_DELIVERIES,
  METRIC_UNCONSUMED,
} from '../../../instrumentation/core/semconv.js';
import { metricSum } from '../../helpers/collector.js';
import { startTestReceiver } from '../../helpers/otlp-receiver.js';
import { installContextManager } from '../../helpers/tracing.js';

async function runOrders(collectorUrl: string, linkMode: 'parent' | 'link', orders: string[]): Promise<void> {
  installContextManager();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'shop' }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${collectorUrl}/v1/traces` }),
        scheduledDelayMillis: 20,
      }),
    ],
  });
  const bus = new Bus({
    name: 'orders',
    tracerProvider: provider,
    registry: createOpenMetricsRegistry(),
    serviceName: 'shop',
    linkMode,
  });
  const fast = { initialMs: 1, factor: 1, maxMs: 1 };
  bus.subscribe('order.placed', () => bus.publish('payment.processed', { ok: true }), {
    group: 'billing',
    serviceName: 'billing',
  });
  bus.subscribe('order.*', () => {}, { group: 'inventory', serviceName: 'inventory' });
  bus.subscribe(
    'order.placed',
    () => {
      throw new TypeError('smtp down');
    },
    { group: 'email', serviceName: 'email', maxAttempts: 3, backoff: fast },
  );
  bus.subscribe('payment.processed', () => {}, { group: 'shipping', serviceName: 'shipping' });
  bus.subscribe('#.dlq', () => {}, { group: 'dlq-audit', serviceName: 'dlq-audit' });
  for (const id of orders) await withCorrelationId(id, () => bus.publish('order.placed', { id }));
  await bus.close();
  await provider.forceFlush();
  await provider.shutdown();
}

describe('Bus spans through the collector', () => {
  for (const linkMode of ['parent', 'link'] as const) {
    it(`links the orders flow exactly (${linkMode} mode)`, async () => {
      const receiver = await startTestReceiver();
      const collector = await startCollector({
        port: 0,
        forwardOtlpUrl: receiver.url,
        forward: { flushIntervalMs: 20 },
        limits: { unconsumedDeadlineMs: 300, linkWindowMs: 300, sweepIntervalMs: 50 },
      });
      try {
        await runOrders(collector.url, linkMode, [`${linkMode}-1`, `${linkMode}-2`]);
        // Publishes and deliveries per order: order.placed -> billing, inventory, email x3 (-> dlq -> dlq-audit);
        // billing -> payment.processed -> shipping.
        const journey = collector.linker.journey(`${linkMode}-1`);
        assert.ok(journey, 'journey by correlation ID');
        assert.deepEqual(journey.counts, {
          publishes: 3,
          deliveries: 7,
          retries: 2,
          deadLetters: 1,
          duplicates: 0,
          orphans: 0,
          unconsumed: 0,
        });
        const root = journey.publishes[0];
        assert.equal(root.destination, 'order.placed');
        assert.equal(root.service, 'shop');
        assert.deepEqual(root.deliveries.map((d) => d.group).sort(), ['billing', 'email', 'inventory']);
        const email = root.deliveries.find((d) => d.group === 'email')!;
        assert.deepEqual(
          email.attempts.map((a) => [a.attempt, a.outcome]),
          [
            [1, 'retry'],
            [2, 'retry'],
            [3, 'dead_letter'],
          ],
        );
        assert.deepEqual(email.deadLetter, { reason: 'max_attempts', source: 'order.placed' });
        assert.equal(
          email.publishes[0]?.destination,
          'order.placed.dlq',
          'the dead letter is published from the last attempt',
        );
        assert.equal(email.publishes[0]?.deliveries[0]?.service, 'dlq-audit');
        const billing = root.deliveries.find((d) => d.group === 'billing')!;
        assert.equal(billing.publishes[0]?.destination, 'payment.processed');
        assert.equal(billing.publishes[0]?.service, 'billing');
        assert.equal(billing.publishes[0]?.deliveries[0]?.service, 'shipping');
        const matched = new Set(
          journey.publishes.flatMap((p) => p.deliveries.flatMap((d) => d.attempts.map((a) => a.matchedBy))),
        );
        assert.deepEqual([...matched], [linkMode === 'parent' ? 'parent' : 'link']);

        const m = collector.metrics;
        // First attempts per order: billing, inventory, email, shipping, dlq-audit.
        assert.equal(await metricSum(m, METRIC_HOP_LATENCY, {}, `${METRIC_HOP_LATENCY}_count`), 10);
        assert.equal(
          await metricSum(
            m,
            METRIC_HOP_LATENCY,
            { producer_service: 'shop', consumer_service: 'email' },
            `${METRIC_HOP_LATENCY}_count`,
          ),
          2,
        );
        assert.equal(
          await metricSum(m, METRIC_DEAD_LETTER_HOPS, {
            reason: 'max_attempts',
            messaging_destination_name: 'order.placed',
          }),
          2,
        );
        assert.equal(await metricSum(m, METRIC_DUPLICATE_DELIVERIES), 0);
        await new Promise((r) => setTimeout(r, 700));
        assert.equal(
          await metricSum(m, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_count`),
          6,
        );
        assert.equal(
          await metricSum(
            m,
            METRIC_FANOUT_DELIVERIES,
            { messaging_destination_name: 'order.placed' },
            `${METRIC_FANOUT_DELIVERIES}_sum`,
          ),
          6,
        );
        assert.equal(await metricSum(m, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_sum`), 10);
        assert.equal(await metricSum(m, METRIC_UNCONSUMED), 0);
        assert.equal(await metricSum(m, METRIC_ORPHAN_DELIVERIES), 0);

        // Forwarded: every original span, plus one synthetic span per delivery outside the producer's trace.
        const synthetic = linkMode === 'parent' ? 0 : 14;
        const got = await receiver.waitForSpans(20 + synthetic);
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(got.length, 20 + synthetic, '10 spans per order');
        assert.equal(got.filter((s) => s.attributes['hoptrace.synthetic'] === true).length, synthetic);
      } finally {
        await collector.close();
        await receiver.close();
      }
    });
  }
});
