import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Admin } from 'kafkajs';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import {
  createKafkaLagMonitor,
  instrumentKafka,
  type LagSnapshot,
  registerLagMetrics,
} from '../../../instrumentation/kafka/index.js';
import { REPO_ROOT } from '../../../scripts/stack/config.js';
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
const monitors: { close(): Promise<void> }[] = [];
after(async () => {
  await Promise.allSettled(monitors.map((m) => m.close()));
  await disconnectAll(...cleanup);
});

async function connectedAdmin(): Promise<Admin> {
  const admin = rawKafka().admin();
  cleanup.push(admin);
  await admin.connect();
  return admin;
}

async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<string[]> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (entry?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => p.offset);
}

/**
 * Commits offsets for a group that has no members, through a transaction (TxnOffsetCommit): fast, unlike
 * `admin.setOffsets`, which joins the group and waits for its fetch loop.
 */
async function offsetCommitter(groupId: string, topic: string) {
  const producer = rawKafka().producer({
    transactionalId: uniqueName('committer'),
    idempotent: true,
    maxInFlightRequests: 1,
  });
  cleanup.push(producer);
  await producer.connect();
  const admin = await connectedAdmin();
  return async (offset: string) => {
    const transaction = await producer.transaction();
    await transaction.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic, partitions: [{ partition: 0, offset }] }],
    });
    await transaction.commit();
    // EndTxn returns before the coordinator has applied the commit marker to the group's offsets; until
    // then an OffsetFetch (kafkajs sends no require_stable) still reads the previous offset.
    await waitFor(
      async () => (await committedOffsets(admin, groupId, topic))[0] === offset,
      `offset ${offset} of ${groupId} visible`,
    );
  };
}

function groupOf(snapshot: LagSnapshot, group: string) {
  const found = snapshot.groups.find((g) => g.group === group);
  assert.ok(found, `group ${group} in the snapshot`);
  return found;
}

async function produce(topic: string, partition: number, count: number): Promise<void> {
  const producer = rawKafka().producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, i) => ({ value: `m${i}`, partition })),
  });
  await producer.disconnect();
}

describe('Kafka lag monitor on a real broker', () => {
  it('paused consumer: lag = produced - committed per partition, lag seconds grows, then 0 after resume', async (t) => {
    if (!(await requireKafka(t))) return;
    const topic = uniqueName('lag');
    const group = uniqueName('slow');
    const idleGroup = uniqueName('idle');
    const idleTopic = uniqueName('empty');
    await createTopic(topic, 2);
    await createTopic(idleTopic);
    await produce(topic, 0, 10);
    await produce(topic, 1, 4);

    // Each partition pauses itself at a fixed offset: kafkajs commits what came before and stops there.
    const pauseAt = new Map([
      [0, '6'],
      [1, '1'],
    ]);
    const pausedRecordTimestamp = new Map<number, number>();
    const resumers: (() => void)[] = [];
    let holding = true;
    const kafka = instrumentKafka(rawKafka(), { registry: createOpenMetricsRegistry() });
    const consumer = kafka.consumer(fastConsumerConfig(group));
    cleanup.push(consumer);
    await startConsumer(consumer, [topic], {
      eachMessage: async ({ partition, message, pause }) => {
        if (holding && pauseAt.get(partition) === message.offset) {
          pausedRecordTimestamp.set(partition, Number(message.timestamp));
          resumers.push(pause());
          throw new Error('paused on purpose');
        }
      },
    });
    // A group that is alive but never commits: its topic stays empty.
    const idle = kafka.consumer(fastConsumerConfig(idleGroup));
    cleanup.push(idle);
    await startConsumer(idle, [idleTopic], { eachMessage: async () => undefined });

    const admin = await connectedAdmin();
    await waitFor(
      async () => (await committedOffsets(admin, group, topic)).join() === '6,1',
      'commits at the pause offsets',
    );

    const monitor = createKafkaLagMonitor({ kafka: rawKafka(), groups: [group, idleGroup], windowMs: 1000 });
    monitors.push(monitor);
    const registry = createOpenMetricsRegistry();
    registerLagMetrics(registry, () => monitor.latest());

    const first = await monitor.poll();
    assert.deepEqual(first.errors, []);
    const paused = groupOf(first, group);
    assert.equal(paused.members, 1);
    assert.deepEqual(
      paused.partitions.map((p) => [p.partition, p.committedOffset, p.highWatermark, p.lag]),
      [
        [0, '6', '10', 4],
        [1, '1', '4', 3],
      ],
    );
    for (const p of paused.partitions) {
      assert.equal(p.lagSecondsSource, 'record');
      const expected = (first.at - (pausedRecordTimestamp.get(p.partition) as number)) / 1000;
      assert.equal(p.lagSeconds, expected, 'age of the record at the committed offset, exactly');
    }
    assert.equal(paused.totalLag, 7);
    assert.deepEqual([paused.status, paused.settled], ['OK', false], 'window not full yet');

    const idleLag = groupOf(first, idleGroup);
    assert.equal(idleLag.members, 1);
    assert.deepEqual(idleLag.partitions, [], 'no lag entry without commits');
    assert.equal(idleLag.status, undefined);

    const text = await registry.metrics();
    assert.match(
      text,
      new RegExp(
        `hoptrace_consumer_lag_messages\\{messaging_system="kafka",messaging_destination_name="${topic}",messaging_consumer_group_name="${group}",messaging_destination_partition_id="0"\\} 4\\n`,
      ),
    );
    assert.match(
      text,
      new RegExp(
        `hoptrace_kafka_consumergroup_current_offset\\{messaging_system="kafka",messaging_destination_name="${topic}",messaging_consumer_group_name="${group}",messaging_destination_partition_id="0"\\} 6\\n`,
      ),
    );
    assert.match(
      text,
      new RegExp(
        `hoptrace_kafka_consumergroup_members\\{messaging_system="kafka",messaging_consumer_group_name="${idleGroup}"\\} 1\\n`,
      ),
      'members of every watched group, with or without commits',
    );
    assert.match(text, new RegExp(`hoptrace_kafka_consumergroup_lag_sum\\{[^}]*"${group}"\\} 7\\n`));
    assert.ok(
      !text.includes(
        `hoptrace_consumer_lag_messages{messaging_system="kafka",messaging_destination_name="${idleTopic}"`,
      ),
      'no lag series for the group without commits',
    );

    await sleep(1100);
    const second = await monitor.poll();
    const before = paused.partitions[0]?.lagSeconds as number;
    const after0 = groupOf(second, group).partitions[0]?.lagSeconds as number;
    assert.ok(after0 - before >= 1.1 - 1e-9, `lag seconds grew from ${before} to ${after0}`);
    assert.ok(
      Math.abs(after0 - before - (second.at - first.at) / 1000) < 1e-9,
      'same record, older by the elapsed time',
    );

    const third = await monitor.poll();
    assert.ok(
      groupOf(third, group).partitions.every((p) => p.lagSecondsGrowing),
      'no progress: the age grows',
    );
    assert.equal(
      groupOf(third, group).status,
      'STALL',
      'offsets not moving while members are there and lag > 0',
    );
    assert.match(
      await registry.metrics(),
      new RegExp(
        `hoptrace_consumer_lag_status\\{messaging_system="kafka",messaging_consumer_group_name="${group}"\\} 2\\n`,
      ),
    );

    holding = false;
    for (const resume of resumers) resume();
    await waitFor(
      async () => (await committedOffsets(admin, group, topic)).join() === '10,4',
      'the consumer to catch up and commit',
    );
    const caughtUp = await monitor.poll();
    const done = groupOf(caughtUp, group);
    assert.deepEqual(
      done.partitions.map((p) => [p.lag, p.lagSeconds, p.lagSecondsSource]),
      [
        [0, 0, 'caught_up'],
        [0, 0, 'caught_up'],
      ],
    );
    assert.equal(done.status, 'OK');
  });

  it('status: WARN while lag grows with moving offsets, STOP when commits stop without members, OK when caught up', async (t) => {
    if (!(await requireKafka(t))) return;
    const topic = uniqueName('status');
    const group = uniqueName('manual');
    await createTopic(topic);
    const commit = await offsetCommitter(group, topic);
    let clock = 0;
    // Evaluations 1 s apart on the monitor's clock; a 2 s window holds three of them.
    const monitor = createKafkaLagMonitor({
      kafka: rawKafka(),
      groups: [group],
      windowMs: 2000,
      now: () => (clock += 1000),
    });
    monitors.push(monitor);
    const registry = createOpenMetricsRegistry();
    registerLagMetrics(registry, () => monitor.latest());
    const status = async () => groupOf(await monitor.poll(), group);

    await produce(topic, 0, 10);
    await commit('0');
    assert.deepEqual(
      [(await status()).partitions[0]?.lag, (await monitor.latest())?.groups[0]?.status],
      [10, 'OK'],
    );
    await produce(topic, 0, 5);
    await commit('2');
    assert.equal((await status()).status, 'OK', 'two evaluations: window not full');
    await produce(topic, 0, 5);
    await commit('4');
    const warn = await status();
    assert.deepEqual([warn.partitions[0]?.lag, warn.status, warn.members], [16, 'WARN', 0]);
    assert.equal((await status()).status, 'WARN', 'offsets moved within the window, lag never shrank');
    const stop = await status();
    assert.equal(stop.status, 'STOP', 'three evaluations at the same offset, no member left to commit');
    assert.match(
      await registry.metrics(),
      new RegExp(
        `hoptrace_consumer_lag_status\\{messaging_system="kafka",messaging_consumer_group_name="${group}"\\} 3\\n`,
      ),
    );
    await commit('20');
    const ok = await status();
    assert.deepEqual([ok.partitions[0]?.lag, ok.status], [0, 'OK']);
  });

  it('retention deleted records below the committed offset: data loss with the count, age of the oldest record left', async (t) => {
    if (!(await requireKafka(t))) return;
    const topic = uniqueName('gone');
    const group = uniqueName('late');
    await createTopic(topic);
    const admin = await connectedAdmin();
    let clock = 1_000_000;
    const options = { kafka: rawKafka(), groups: [group], windowMs: 3000, now: () => clock };
    const monitor = createKafkaLagMonitor(options);
    // Without record reads the age is interpolated from the high-watermark history.
    const interpolating = createKafkaLagMonitor({ ...options, exactLagSeconds: false });
    monitors.push(monitor, interpolating);

    const commit = await offsetCommitter(group, topic);
    await produce(topic, 0, 5);
    await commit('0');
    const exact = groupOf(await monitor.poll(), group).partitions[0];
    await interpolating.poll();
    assert.deepEqual([exact?.lagSecondsSource, exact?.lostMessages], ['record', 0]);

    clock = 2_000_000;
    // Offsets 5..9, CreateTime 1.1e6, 1.2e6, ... 1.5e6 ms.
    const producer = rawKafka().producer();
    cleanup.push(producer);
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: 5 }, (_, i) => ({
        value: `late${i}`,
        timestamp: String(1_100_000 + i * 100_000),
      })),
    });
    await monitor.poll(); // high watermark 5 -> 10 between clock 1e6 and 2e6
    await interpolating.poll();
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '8' }] });
    await commit('6'); // records 6 and 7 are gone before the group read them
    clock = 5_000_000;
    const snapshot = await monitor.poll();
    const lost = groupOf(snapshot, group);
    const p = lost.partitions[0];
    assert.deepEqual(
      [p?.committedOffset, p?.lowWatermark, p?.highWatermark, p?.lag, p?.lostMessages, lost.lostMessages],
      ['6', '8', '10', 4, 2, 2],
    );
    // The oldest record the group can still read is 8, CreateTime 1.4e6 ms.
    assert.deepEqual([p?.lagSecondsSource, p?.lagSeconds], ['record', (5_000_000 - 1_400_000) / 1000]);
    const estimate = groupOf(await interpolating.poll(), group).partitions[0];
    // Record 8 was appended between the samples (hw 5 at 1e6 ms, hw 10 at 2e6 ms): 4/5 of the way.
    assert.deepEqual(
      [estimate?.lagSecondsSource, estimate?.lagSeconds],
      ['interpolated', (5_000_000 - 1_800_000) / 1000],
    );

    const { formatLagTable } = await import('../../../cli/commands/lag.js');
    assert.match(
      formatLagTable(snapshot),
      new RegExp(`DATA LOSS: group ${group} ${topic}/0: 2 messages deleted before the group read them`),
    );
  });

  it('transactions: lag counts an open transaction up to the high watermark; caught up to the commit marker is 0 s and OK', async (t) => {
    if (!(await requireKafka(t))) return;
    const topic = uniqueName('txn');
    const group = uniqueName('txn-reader');
    await createTopic(topic);
    const admin = await connectedAdmin();
    const commit = await offsetCommitter(group, topic);
    let clock = Date.now();
    const monitor = createKafkaLagMonitor({
      kafka: rawKafka(),
      groups: [group],
      windowMs: 2000,
      now: () => (clock += 1000),
    });
    monitors.push(monitor);
    const registry = createOpenMetricsRegistry();
    registerLagMetrics(registry, () => monitor.latest());
    await produce(topic, 0, 5);
    await commit('5');

    const producer = rawKafka().producer({
      transactionalId: uniqueName('txn-producer'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    cleanup.push(producer);
    await producer.connect();
    const transaction = await producer.transaction();
    const sentAt = Date.now();
    await transaction.send({
      topic,
      messages: Array.from({ length: 300 }, (_, i) => ({
        value: `t${i}`,
        partition: 0,
        timestamp: String(sentAt),
      })),
    });
    const [open] = await admin.fetchTopicOffsets(topic);
    const whileOpen = groupOf(await monitor.poll(), group).partitions[0];
    assert.equal(open?.high, '5', "kafkajs' admin lists READ_COMMITTED: the last stable offset");
    assert.deepEqual(
      [whileOpen?.highWatermark, whileOpen?.lag, whileOpen?.caughtUp, whileOpen?.lagSecondsSource],
      ['305', 300, false, 'record'],
      'lag = high watermark - committed while the transaction is open',
    );
    assert.equal(whileOpen?.lagSeconds, (clock - sentAt) / 1000, 'age of the first open-transaction record');

    await transaction.commit();
    await commit('305'); // the group read the 300 records: only the commit marker (offset 305) is left
    const [after] = await admin.fetchTopicOffsets(topic);
    assert.equal(after?.high, '306', '300 records and one commit marker');
    for (let i = 0; i < 4; i++) {
      const g = groupOf(await monitor.poll(), group);
      const p = g.partitions[0];
      assert.deepEqual(
        [p?.lag, p?.caughtUp, p?.lagSeconds, p?.lagSecondsSource, p?.lagSecondsGrowing, g.status, g.settled],
        [1, true, 0, 'caught_up', false, 'OK', true],
        `evaluation ${i}: lag 1 (the marker) is caught up`,
      );
    }
    const text = await registry.metrics();
    assert.match(
      text,
      new RegExp(
        `hoptrace_consumer_lag_seconds\\{messaging_system="kafka",messaging_destination_name="${topic}",messaging_consumer_group_name="${group}",messaging_destination_partition_id="0"\\} 0\\n`,
      ),
    );
    assert.match(
      text,
      new RegExp(
        `hoptrace_consumer_lag_status\\{messaging_system="kafka",messaging_consumer_group_name="${group}"\\} 0\\n`,
      ),
    );
  });

  it('`hoptrace lag` once: STOP for a stopped group with lag after two looks, OK for a caught-up one at once, n/a without a second look', async (t) => {
    if (!(await requireKafka(t))) return;
    const topic = uniqueName('cli');
    const stopped = uniqueName('cli-stopped');
    const done = uniqueName('cli-done');
    await createTopic(topic);
    await produce(topic, 0, 8);
    await (await offsetCommitter(stopped, topic))('3');
    await (await offsetCommitter(done, topic))('8');
    const run = async (...args: string[]) => {
      const started = Date.now();
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [join(REPO_ROOT, 'dist/cli/index.js'), 'lag', '--brokers', brokers().join(','), ...args],
        { timeout: 30_000 },
      );
      return { stdout, ms: Date.now() - started };
    };
    const row = (group: string, status: string, lag: number) =>
      new RegExp(`${group}\\s+${status}\\s+${topic}\\s+0\\s+0\\s+\\d+\\s+8\\s+${lag}\\s`);
    const twoLooks = await run('--group', stopped, '--group', done, '--sample', '1000');
    assert.match(twoLooks.stdout, row(stopped, 'STOP', 5), twoLooks.stdout);
    assert.match(twoLooks.stdout, row(done, 'OK', 0), twoLooks.stdout);
    assert.ok(twoLooks.ms >= 1000, 'a second look 1 s later');
    const caughtUp = await run('--group', done);
    assert.match(caughtUp.stdout, row(done, 'OK', 0));
    assert.ok(caughtUp.ms < 5000, `caught up: known from one look (${caughtUp.ms} ms, no 5 s wait)`);
    const oneLook = await run('--group', stopped, '--sample', '0');
    assert.match(oneLook.stdout, row(stopped, 'n/a', 5), oneLook.stdout);
  });
});
