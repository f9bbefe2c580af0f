/**
 * The side-by-side scenario of issue 19 against the collector with its defaults (5 s poll, 30 s status
 * window): a 3-partition topic written at ~60 msg/s; group A keeps up, B is paused, C is stopped.
 * Every second /metrics is scraped and compared with the truth: B's lag in seconds (now - CreateTime
 * of the record at B's committed offset), A's status, when B leaves OK and when C is STOP.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Consumer } from 'kafkajs';
import { startCollector } from '../../../collector/start.js';
import {
  brokers,
  createTopic,
  disconnectAll,
  fastConsumerConfig,
  rawKafka,
  requireKafka,
  sleep,
  startConsumer,
  uniqueName,
  waitFor,
} from './kafka-helpers.js';

const cleanup: { disconnect(): Promise<void> }[] = [];
after(() => disconnectAll(...cleanup));

function gauge(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(' ').pop());
  }
  return undefined;
}

describe('Kafka lag scenario through the collector with defaults', () => {
  it('B paused leaves OK within 45 s, C stopped is STOP within 60 s, A stays OK, lag seconds within 2 s at scrape time', {
    timeout: 180_000,
  }, async (t) => {
    if (!(await requireKafka(t))) return;
    const topic = uniqueName('scenario');
    const [A, B, C] = ['keeps-up', 'paused', 'stopped'].map((g) => uniqueName(g)) as [string, string, string];
    await createTopic(topic, 3);
    const admin = rawKafka().admin();
    cleanup.push(admin);
    await admin.connect();

    // CreateTime of every record, by partition and offset: the truth of lag in seconds.
    const createdAt = new Map<string, number>();
    const producer = rawKafka().producer();
    cleanup.push(producer);
    await producer.connect();
    let producing = true;
    const production = (async () => {
      while (producing) {
        const now = Date.now();
        const sent = await producer.send({
          topic,
          messages: [0, 1, 2].map((partition) => ({ partition, value: 'x', timestamp: String(now) })),
        });
        for (const r of sent) createdAt.set(`${r.partition}:${r.baseOffset}`, now);
        await sleep(50);
      }
    })();

    const consumers = new Map<string, Consumer>();
    for (const group of [A, B, C]) {
      const consumer = rawKafka().consumer(fastConsumerConfig(group));
      cleanup.push(consumer);
      consumers.set(group, consumer);
      await startConsumer(consumer, [topic], { eachMessage: async () => undefined });
    }
    const collector = await startCollector({ port: 0, kafka: { brokers: brokers(), groups: [A, B, C] } });
    try {
      await waitFor(async () => {
        for (const group of [A, B, C]) {
          const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
          if (!entry || entry.partitions.some((p) => Number(p.offset) < 0)) return false;
        }
        return true;
      }, 'every group to commit every partition');
      await sleep(6000); // a few polls with everyone consuming

      const t0 = Date.now();
      consumers.get(B)?.pause([{ topic }]);
      await consumers.get(C)?.disconnect();
      let bLeftOkAfter: number | undefined;
      let cStopAfter: number | undefined;
      let aWorst = 0;
      let maxError = 0;
      let compared = 0;
      let last = '';
      while (Date.now() - t0 < 65_000 && (bLeftOkAfter === undefined || cStopAfter === undefined)) {
        const before = Date.now();
        const text = await (await fetch(`${collector.url}/metrics`)).text();
        const scrapedAt = Date.now();
        last = text;
        const status = (group: string) =>
          gauge(text, 'hoptrace_consumer_lag_status', { messaging_consumer_group_name: group });
        aWorst = Math.max(aWorst, status(A) ?? 0);
        if (bLeftOkAfter === undefined && (status(B) ?? 0) > 0) bLeftOkAfter = scrapedAt - t0;
        if (cStopAfter === undefined && status(C) === 3) cStopAfter = scrapedAt - t0;
        // B's commits settle within a moment of the pause; compare from then on.
        if (scrapedAt - t0 > 2000) {
          const [entry] = await admin.fetchOffsets({ groupId: B, topics: [topic] });
          for (const p of entry?.partitions ?? []) {
            const created = createdAt.get(`${p.partition}:${p.offset}`);
            const shown = gauge(text, 'hoptrace_consumer_lag_seconds', {
              messaging_consumer_group_name: B,
              messaging_destination_partition_id: String(p.partition),
            });
            if (created === undefined || shown === undefined) continue;
            const truth = ((before + scrapedAt) / 2 - created) / 1000;
            maxError = Math.max(maxError, Math.abs(shown - truth));
            compared++;
          }
        }
        await sleep(1000);
      }
      producing = false;
      await production;
      t.diagnostic(
        `B left OK after ${bLeftOkAfter} ms, C STOP after ${cStopAfter} ms, A worst status ${aWorst}, ` +
          `B lag seconds max error ${maxError.toFixed(3)} s over ${compared} comparisons`,
      );
      assert.ok(bLeftOkAfter !== undefined && bLeftOkAfter <= 45_000, `B left OK after ${bLeftOkAfter} ms`);
      assert.ok(cStopAfter !== undefined && cStopAfter <= 60_000, `C was STOP after ${cStopAfter} ms`);
      assert.equal(aWorst, 0, 'A, keeping up, stays OK');
      assert.ok(compared >= 20, `compared ${compared} figures`);
      assert.ok(maxError < 2, `lag seconds within 2 s of the truth at scrape time (max error ${maxError} s)`);

      // kafka_exporter-style offsets and group state, per partition and group.
      const [committedB] = await admin.fetchOffsets({ groupId: B, topics: [topic] });
      const p0 = committedB?.partitions.find((p) => p.partition === 0);
      const group = (g: string) => ({ messaging_consumer_group_name: g });
      assert.equal(
        gauge(last, 'hoptrace_kafka_consumergroup_current_offset', {
          ...group(B),
          messaging_destination_partition_id: '0',
        }),
        Number(p0?.offset),
      );
      const partition0 = { messaging_destination_name: topic, messaging_destination_partition_id: '0' };
      assert.ok(
        (gauge(last, 'hoptrace_kafka_topic_partition_current_offset', partition0) ?? 0) > Number(p0?.offset),
      );
      assert.equal(gauge(last, 'hoptrace_kafka_topic_partition_oldest_offset', partition0), 0);
      assert.equal(gauge(last, 'hoptrace_kafka_consumergroup_members', group(A)), 1);
      assert.equal(gauge(last, 'hoptrace_kafka_consumergroup_members', group(B)), 1);
      assert.equal(gauge(last, 'hoptrace_kafka_consumergroup_members', group(C)), 0);
      assert.equal(gauge(last, 'hoptrace_kafka_consumergroup_state', { ...group(C), state: 'Empty' }), 1);
      assert.equal(gauge(last, 'hoptrace_kafka_consumergroup_state', { ...group(A), state: 'Stable' }), 1);
      assert.equal(gauge(last, 'hoptrace_kafka_consumergroup_uncommitted_partitions', group(B)), 0);
      assert.equal(
        gauge(last, 'hoptrace_kafka_consumergroup_lost_messages', {
          ...group(B),
          messaging_destination_partition_id: '0',
        }),
        0,
      );
      const sum = [0, 1, 2]
        .map(
          (p) =>
            gauge(last, 'hoptrace_consumer_lag_messages', {
              ...group(C),
              messaging_destination_partition_id: String(p),
            }) ?? 0,
        )
        .reduce((x, y) => x + y, 0);
      assert.equal(gauge(last, 'hoptrace_kafka_consumergroup_lag_sum', group(C)), sum);
      assert.ok((gauge(last, 'hoptrace_kafka_consumergroup_lag_max', group(C)) ?? 0) > 0);
    } finally {
      producing = false;
      await production.catch(() => undefined);
      await collector.close();
      await admin.deleteGroups([A, B, C]).catch(() => undefined);
    }
  });
});
