import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { uniqueName, waitFor } from '../../helpers/stack.js';

const brokers = stackEndpoint('HOPTRACE_KAFKA_BROKERS').split(',');

test('Kafka: messages produced are consumed in a group whose committed offset the admin sees', async (t) => {
  const kafka = new Kafka({
    clientId: uniqueName('stack-smoke'),
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 100, retries: 8 },
  });
  const admin = kafka.admin();
  if (!(await requireServer(t, 'Kafka', () => admin.connect().then(() => admin.listTopics())))) return;
  t.after(() => admin.disconnect());

  const topic = uniqueName('stack-smoke');
  const groupId = uniqueName('stack-smoke-group');
  assert.equal(
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true }),
    true,
  );
  t.after(() => admin.deleteTopics({ topics: [topic] }).catch(() => {}));

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  t.after(() => producer.disconnect());
  const sent = ['one', 'two', 'three'];
  await producer.send({ topic, messages: sent.map((value, i) => ({ key: `k${i}`, value })) });

  const consumer = kafka.consumer({ groupId, heartbeatInterval: 500, sessionTimeout: 10_000 });
  await consumer.connect();
  let consumerConnected = true;
  t.after(() => (consumerConnected ? consumer.disconnect() : undefined));
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: string[] = [];
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message, partition }) => {
      received.push(message.value!.toString());
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
    },
  });
  await waitFor(async () => received.length === sent.length, {
    what: '3 consumed messages',
    timeoutMs: 30_000,
  });
  await consumer.disconnect();
  consumerConnected = false;

  assert.deepEqual(received, sent);
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.deepEqual(offsets, [{ topic, partitions: [{ partition: 0, offset: '3', metadata: null }] }]);
});
