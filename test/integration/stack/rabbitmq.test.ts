import assert from 'node:assert/strict';
import { test } from 'node:test';
import amqplib from 'amqplib';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { getJson, uniqueName, waitFor } from '../../helpers/stack.js';

const amqpUrl = stackEndpoint('HOPTRACE_AMQP_URL');
const managementUrl = stackEndpoint('HOPTRACE_RABBITMQ_MANAGEMENT_URL');

interface ManagementQueue {
  name: string;
  vhost: string;
  messages_ready?: number;
  consumers?: number;
}

test('a message goes through RabbitMQ and its queue shows in the management API', async (t) => {
  if (!(await requireServer(t, 'RabbitMQ', async () => (await amqplib.connect(amqpUrl)).close()))) return;
  const connection = await amqplib.connect(amqpUrl);
  const channel = await connection.createChannel();
  const queue = uniqueName('stack-smoke');
  t.after(async () => {
    await channel.deleteQueue(queue);
    await connection.close();
  });
  await channel.assertQueue(queue, { durable: false, autoDelete: false });

  channel.sendToQueue(queue, Buffer.from('hello rabbit'), { messageId: queue });

  // The management API reports the queue with the one ready message (stats refresh every second).
  const listed = await waitFor(
    async () => {
      const queues = await getJson<ManagementQueue[]>(`${managementUrl}/api/queues`);
      const found = queues.find((q) => q.name === queue);
      return found?.messages_ready === 1 ? found : undefined;
    },
    { what: `queue ${queue} with 1 ready message in /api/queues`, timeoutMs: 15_000 },
  );
  assert.equal(listed.vhost, '/');

  const message = await channel.get(queue, { noAck: false });
  assert.ok(message, 'expected a message on the queue');
  assert.equal(message.content.toString(), 'hello rabbit');
  assert.equal(message.properties.messageId, queue);
  channel.ack(message);
  assert.equal(await channel.get(queue), false, 'the queue holds exactly one message');
});
