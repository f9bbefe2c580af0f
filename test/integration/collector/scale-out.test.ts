/**
 * Scale-out on the real Kafka: two collector instances share a span topic and a consumer group.
 * Spans of each flow are sent to either instance (consumer spans first for some), yet every flow
 * is linked whole on exactly one instance, and the two instances' counts add up exactly.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { partitionKey } from '../../../collector/exporter/kafka-topic.js';
import { type Collector, startCollector } from '../../../collector/start.js';
import type { SpanRecord } from '../../../collector/types.js';
import {
  METRIC_FANOUT_DELIVERIES,
  METRIC_HOP_LATENCY,
  METRIC_ORPHAN_DELIVERIES,
  METRIC_UNCONSUMED,
} from '../../../instrumentation/core/semconv.js';
import { metricSum, otlpProtobuf, processSpan, publishSpan } from '../../helpers/collector.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';

const BROKERS = stackEndpoint('HOPTRACE_KAFKA_BROKERS').split(',');

async function post(collector: Collector, spans: SpanRecord[]): Promise<void> {
  const response = await fetch(`${collector.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: otlpProtobuf(spans),
  });
  assert.equal(response.status, 200);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const sumOver = async (instances: Collector[], name: string, sample?: string) =>
  (await Promise.all(instances.map((c) => metricSum(c.metrics, name, {}, sample)))).reduce(
    (a, b) => a + b,
    0,
  );

describe('scale-out through a Kafka topic', () => {
  it('keys spans by correlation ID, else by the producer trace', () => {
    const pub = publishSpan({ service: 'a', destination: 'd', at: 0 });
    assert.equal(
      partitionKey(publishSpan({ service: 'a', destination: 'd', correlationId: 'c-1', at: 0 })),
      'c-1',
    );
    assert.equal(partitionKey(pub), pub.traceId);
    assert.equal(
      partitionKey(
        processSpan(pub, { service: 'b', destination: 'd', correlationId: null, mode: 'parent', at: 1 }),
      ),
      pub.traceId,
    );
    assert.equal(
      partitionKey(
        processSpan(pub, { service: 'b', destination: 'd', correlationId: null, mode: 'link', at: 1 }),
      ),
      pub.traceId,
    );
  });

  it('links every flow whole on one of two instances', async (t) => {
    const admin = new Kafka({ brokers: BROKERS, logLevel: logLevel.NOTHING }).admin();
    if (!(await requireServer(t, 'Kafka', () => admin.connect()))) return;
    const id = randomBytes(4).toString('hex');
    const topic = `hoptrace-test.collector-spans.${id}`;
    const groupId = `hoptrace-test.collector.${id}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    const options = {
      port: 0,
      scaleOut: { kafka: { brokers: BROKERS, topic, groupId } },
      limits: { unconsumedDeadlineMs: 2_000, linkWindowMs: 2_000, sweepIntervalMs: 100 },
    };
    const instances: Collector[] = [];
    try {
      instances.push(await startCollector(options), await startCollector(options));
      await waitFor('both instances in the consumer group', async () => {
        const ready = await Promise.all(instances.map((c) => fetch(`${c.url}/readyz`).then((r) => r.status)));
        return ready.every((s) => s === 200);
      });
      // The group settles after the second member joins; let the rebalance finish.
      await new Promise((r) => setTimeout(r, 3_000));

      const flows = 24;
      for (let i = 0; i < flows; i++) {
        const correlationId = `flow-${id}-${i}`;
        const pub = publishSpan({
          service: 'orders',
          destination: 'orders',
          messageId: `${correlationId}-m`,
          correlationId,
          at: i,
        });
        const billing = processSpan(pub, {
          service: 'billing',
          destination: 'orders',
          group: 'billing',
          outcome: 'ack',
          at: i + 3,
        });
        const email = processSpan(pub, {
          service: 'email',
          destination: 'orders',
          group: 'email',
          mode: 'link',
          outcome: 'ack',
          at: i + 5,
        });
        // Consumers first, to the other instance than the publish, for half of the flows.
        if (i % 2 === 0) {
          await post(instances[1], [billing, email]);
          await post(instances[0], [pub]);
        } else {
          await post(instances[i % 4 === 1 ? 0 : 1], [pub, billing, email]);
        }
      }
      await waitFor(
        'all hops linked',
        async () =>
          (await sumOver(instances, METRIC_HOP_LATENCY, `${METRIC_HOP_LATENCY}_count`)) === flows * 2,
      );
      await waitFor(
        'all fan-outs observed',
        async () =>
          (await sumOver(instances, METRIC_FANOUT_DELIVERIES, `${METRIC_FANOUT_DELIVERIES}_count`)) === flows,
      );

      assert.equal(
        await sumOver(instances, METRIC_FANOUT_DELIVERIES, `${METRIC_FANOUT_DELIVERIES}_sum`),
        flows * 2,
      );
      assert.equal(await sumOver(instances, METRIC_UNCONSUMED), 0);
      assert.equal(await sumOver(instances, METRIC_ORPHAN_DELIVERIES), 0);
      const owners = new Map<number, number>();
      for (let i = 0; i < flows; i++) {
        const journeys = instances.map((c) => c.linker.journey(`flow-${id}-${i}`));
        const holders = journeys.filter((j) => j !== undefined);
        assert.equal(holders.length, 1, `flow ${i} lives on exactly one instance`);
        assert.equal(holders[0]?.counts.deliveries, 2);
        assert.equal(holders[0]?.publishes[0].deliveries.length, 2);
        const owner = journeys.findIndex((j) => j !== undefined);
        owners.set(owner, (owners.get(owner) ?? 0) + 1);
      }
      assert.equal(owners.size, 2, `both instances link some flows: ${JSON.stringify([...owners])}`);
    } finally {
      await Promise.all(instances.map((c) => c.close()));
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.deleteGroups([groupId]).catch(() => {});
      await admin.disconnect();
    }
  });
});
