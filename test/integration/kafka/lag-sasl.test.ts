/**
 * SASL on a real broker: a private Kafka with a SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256,
 * SCRAM-SHA-512). The lag monitor, `hoptrace lag` and the collector read a group's lag through it,
 * configured like kafkajs (`sasl: { mechanism, username, password }`); a wrong password is an error.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { startCollector } from '../../../collector/start.js';
import { createKafkaLagMonitor } from '../../../instrumentation/kafka/index.js';
import { REPO_ROOT } from '../../../scripts/stack/config.js';
import { KAFKA_SASL_USER } from '../../../scripts/stack/kafka.js';
import { stackRequired } from '../../helpers/env.js';
import { uniqueName } from '../../helpers/stack.js';
import { createPrivateStack, type PrivateStack } from '../reliability/private-stack.js';

const stackOff = ['off', '0', 'false'].includes((process.env.HOPTRACE_STACK ?? '').toLowerCase());
const OFFSET = -17500;
const SASL_PORT = 39092 + OFFSET - 10;

describe('Kafka lag over SASL (private broker with a SASL_PLAINTEXT listener)', {
  skip: stackOff && !stackRequired() && 'HOPTRACE_STACK=off',
  timeout: 240_000,
}, () => {
  let stack: PrivateStack;
  const saslBrokers = [`127.0.0.1:${SASL_PORT}`];
  const topic = uniqueName('sasl');
  const group = uniqueName('sasl-group');
  before(async () => {
    stack = createPrivateStack('kafka-sasl', OFFSET, { HOPTRACE_KAFKA_SASL_PORT: String(SASL_PORT) });
    await stack.start('kafka');
    // Setup over the plain listener: 6 records, the group committed 2.
    const plain = new Kafka({
      clientId: 'setup',
      brokers: (stack.endpoints.HOPTRACE_KAFKA_BROKERS as string).split(','),
      logLevel: logLevel.NOTHING,
    });
    const admin = plain.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
    const producer = plain.producer({
      transactionalId: uniqueName('committer'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 6 }, (_, i) => ({ value: `m${i}` })) });
    const transaction = await producer.transaction();
    await transaction.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic, partitions: [{ partition: 0, offset: '2' }] }],
    });
    await transaction.commit();
    // The commit marker is applied after EndTxn returns: wait until an OffsetFetch reads it.
    for (let tries = 0; ; tries++) {
      const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      if (entry?.partitions[0]?.offset === '2') break;
      if (tries === 200) throw new Error(`offset 2 of ${group} never became visible`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await producer.disconnect();
    await admin.disconnect();
  });
  after(() => stack?.destroy());

  const sasl = (
    mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512',
    password: string = KAFKA_SASL_USER.password,
  ) => ({ mechanism, username: KAFKA_SASL_USER.username, password }) as SASLOptions;

  it('the lag monitor reads lag and record timestamps with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512', async () => {
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
      const monitor = createKafkaLagMonitor({ brokers: saslBrokers, sasl: sasl(mechanism), groups: [group] });
      try {
        const snapshot = await monitor.poll();
        assert.deepEqual(snapshot.errors, [], mechanism);
        const p = snapshot.groups[0]?.partitions[0];
        assert.deepEqual(
          [p?.committedOffset, p?.highWatermark, p?.lag, p?.lagSecondsSource],
          ['2', '6', 4, 'record'],
          mechanism,
        );
      } finally {
        await monitor.close();
      }
    }
    const wrong = createKafkaLagMonitor({
      brokers: saslBrokers,
      sasl: sasl('scram-sha-256', 'wrong'),
      groups: [group],
    });
    try {
      await assert.rejects(
        wrong.poll(),
        /SASL|authentication|credentials/i,
        'a wrong password fails the poll',
      );
    } finally {
      await wrong.close();
    }
  });

  it('`hoptrace lag` and the collector connect with SASL', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        join(REPO_ROOT, 'dist/cli/index.js'),
        'lag',
        '--brokers',
        saslBrokers[0] as string,
        '--group',
        group,
        '--sample',
        '0',
        '--sasl-mechanism',
        'scram-sha-512',
        '--sasl-username',
        KAFKA_SASL_USER.username,
      ],
      { env: { ...process.env, HOPTRACE_KAFKA_SASL_PASSWORD: KAFKA_SASL_USER.password }, timeout: 30_000 },
    );
    assert.match(stdout, new RegExp(`${group}\\s+n/a\\s+${topic}\\s+0\\s+0\\s+2\\s+6\\s+4\\s+0\\s`), stdout);

    const collector = await startCollector({
      port: 0,
      kafka: { brokers: saslBrokers, sasl: sasl('plain'), groups: [group], intervalMs: 60_000 },
    });
    try {
      await collector.pollMonitors();
      const metrics = await (await fetch(`${collector.url}/metrics`)).text();
      assert.match(metrics, /hoptrace_collector_up\{source="kafka"\} 1/);
      assert.match(
        metrics,
        new RegExp(
          `hoptrace_consumer_lag_messages\\{[^}]*messaging_consumer_group_name="${group}"[^}]*\\} 4`,
        ),
      );
    } finally {
      await collector.close();
    }
  });
});
