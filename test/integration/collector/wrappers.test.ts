/**
 * Spans from the real RabbitMQ and Kafka wrappers (the demo flows on the real brokers), exported by
 * the official OTel OTLP/HTTP exporter, go through the collector: journeys, hop latencies, fan-out,
 * dead letters, unconsumed, orphans and duplicates are exact.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import amqplib from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { runKafkaDemo } from '../../../cli/demo/kafka.js';
import { runRabbitDemo } from '../../../cli/demo/rabbitmq.js';
import { type Collector, startCollector } from '../../../collector/start.js';
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
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { waitFor } from '../../helpers/stack.js';
import { installContextManager } from '../../helpers/tracing.js';

const LIMITS = { unconsumedDeadlineMs: 500, linkWindowMs: 500, sweepIntervalMs: 50 };
/**
 * Kafka consumers pick records up later than RabbitMQ's pushed deliveries (fetch waits, the dead-letter
 * reader's group join), so a 500 ms deadline counted a slow but consumed dead letter as unconsumed on a
 * loaded machine. The test waits for the deadlines instead.
 */
const KAFKA_LIMITS = { unconsumedDeadlineMs: 5_000, linkWindowMs: 5_000, sweepIntervalMs: 50 };

function exportingProvider(collector: Collector): TracerProvider {
  installContextManager();
  return new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'demo' }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${collector.url}/v1/traces` }),
        scheduledDelayMillis: 20,
      }),
    ],
  });
}

async function settle(provider: TracerProvider): Promise<void> {
  await provider.forceFlush();
  await provider.shutdown();
  await new Promise((r) => setTimeout(r, 1_000)); // past the deadline and the link window
}

async function counts(collector: Collector) {
  const m = collector.metrics;
  return {
    hops: await metricSum(m, METRIC_HOP_LATENCY, {}, `${METRIC_HOP_LATENCY}_count`),
    fanoutCount: await metricSum(m, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_count`),
    fanoutSum: await metricSum(m, METRIC_FANOUT_DELIVERIES, {}, `${METRIC_FANOUT_DELIVERIES}_sum`),
    deadLetterHops: await metricSum(m, METRIC_DEAD_LETTER_HOPS),
    unconsumed: await metricSum(m, METRIC_UNCONSUMED),
    orphans: await metricSum(m, METRIC_ORPHAN_DELIVERIES),
    duplicates: await metricSum(m, METRIC_DUPLICATE_DELIVERIES),
  };
}

describe('real wrapper spans through the collector', () => {
  it('RabbitMQ: fan-out to three queues, one rejection dead-lettered and read from the DLQ', async (t) => {
    const url = stackEndpoint('HOPTRACE_AMQP_URL');
    if (!(await requireServer(t, 'RabbitMQ', () => amqplib.connect(url).then((c) => c.close())))) return;
    const collector = await startCollector({ port: 0, limits: LIMITS });
    try {
      const provider = exportingProvider(collector);
      const prefix = `hoptrace-test.collector.${randomBytes(4).toString('hex')}`;
      const result = await runRabbitDemo({
        url,
        orders: 3,
        failEvery: 3,
        prefix,
        tracerProvider: provider,
        registry: createOpenMetricsRegistry(),
      });
      await settle(provider);

      for (const [i, id] of result.correlationIds.entries()) {
        const journey = collector.linker.journey(id);
        assert.ok(journey, `journey ${id}`);
        assert.equal(journey.publishes.length, 1);
        const root = journey.publishes[0];
        assert.equal(root.destination, `${prefix}.orders`);
        assert.equal(root.routingKey, 'order.placed');
        const groups = root.deliveries.map((d) => d.group).sort();
        if (i < 2) {
          assert.deepEqual(groups, [`${prefix}.billing`, `${prefix}.email`, `${prefix}.inventory`]);
          assert.equal(journey.counts.deadLetters, 0);
        } else {
          assert.deepEqual(groups, [
            `${prefix}.billing`,
            `${prefix}.email`,
            `${prefix}.email.dlq`,
            `${prefix}.inventory`,
          ]);
          const email = root.deliveries.find((d) => d.group === `${prefix}.email`)!;
          assert.equal(email.outcome, 'dead_letter');
          const audit = root.deliveries.find((d) => d.group === `${prefix}.email.dlq`)!;
          assert.equal(audit.deadLetterQueue, true);
          assert.deepEqual(audit.deadLetter, { reason: 'rejected', source: `${prefix}.email` });
          assert.equal(journey.counts.deadLetters, 1);
        }
        for (const d of root.deliveries) assert.equal(d.attempts[0].matchedBy, 'parent');
        const billing = root.deliveries.find((d) => d.group === `${prefix}.billing`)!;
        assert.deepEqual(
          billing.publishes.map((p) => p.deliveries.map((d) => d.group)),
          [[`${prefix}.shipping`]],
          "billing's payment.processed reaches shipping",
        );
      }
      // 3 orders x 3 queues + 3 payments x shipping.
      assert.deepEqual(await counts(collector), {
        hops: 12,
        fanoutCount: 6,
        fanoutSum: 12,
        deadLetterHops: 1,
        unconsumed: 0,
        orphans: 0,
        duplicates: 0,
      });
    } finally {
      await collector.close();
    }
  });

  it('Kafka: six services, retries, a second hop, a dead-letter topic and its reader', async (t) => {
    const brokers = stackEndpoint('HOPTRACE_KAFKA_BROKERS').split(',');
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    if (!(await requireServer(t, 'Kafka', () => admin.connect().then(() => admin.disconnect())))) return;
    const collector = await startCollector({ port: 0, limits: KAFKA_LIMITS });
    try {
      const provider = exportingProvider(collector);
      const result = await runKafkaDemo({
        brokers,
        messages: 4,
        tracerProvider: provider,
        registry: createOpenMetricsRegistry(),
      });
      await settle(provider);
      // Every publish's deadline has passed once all 9 fan-outs (4 orders, 4 payments, the dead letter) are observed.
      await waitFor(async () => (await counts(collector)).fanoutCount === 9, {
        what: 'the fan-out of all 9 publishes',
        timeoutMs: 30_000,
      });
      assert.deepEqual(result.deadLettered, [result.correlationIds[2]]);

      for (const id of [0, 1, 3].map((i) => result.correlationIds[i])) {
        const journey = collector.linker.journey(id)!;
        assert.deepEqual(journey.counts, {
          publishes: 2,
          deliveries: 4,
          retries: 0,
          deadLetters: 0,
          duplicates: 0,
          orphans: 0,
          unconsumed: 0,
        });
      }
      const failed = collector.linker.journey(result.correlationIds[2])!;
      assert.deepEqual(failed.counts, {
        publishes: 3,
        deliveries: 7,
        retries: 2,
        deadLetters: 1,
        duplicates: 0,
        orphans: 0,
        unconsumed: 0,
      });
      const fraud = failed.publishes[0].deliveries.find((d) => d.group === result.groups.email)!;
      assert.deepEqual(
        fraud.attempts.map((a) => [a.attempt, a.outcome]),
        [
          [1, 'retry'],
          [2, 'retry'],
          [3, 'dead_letter'],
        ],
      );
      const dlq = fraud.publishes[0];
      assert.equal(
        dlq.destination,
        result.deadLetterTopic,
        'the dead-letter publish is made while handling the last attempt',
      );
      assert.equal(dlq.deliveries[0].group, result.groups['dlq-audit']);

      assert.deepEqual(await counts(collector), {
        hops: 17, // billing, inventory, email 4 each (first attempts) + shipping 4 + dlq-audit
        fanoutCount: 9,
        fanoutSum: 17,
        deadLetterHops: 1,
        unconsumed: 0,
        orphans: 0,
        duplicates: 0,
      });
    } finally {
      await collector.close();
    }
  });
});
