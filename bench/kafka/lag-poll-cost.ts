/**
 * Broker cost of one Kafka lag poll: requests, bytes and time per poll, counted on the client's
 * sockets, for GROUPS groups on one 3-partition topic. Two cases: every group moved since the last
 * poll (one record Fetch per partition) and nothing moved (timestamps cached: no Fetch).
 * Run: node dist/bench/kafka/lag-poll-cost.js [groups=10] (Kafka from HOPTRACE_KAFKA_BROKERS).
 */
import net from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { createKafkaLagMonitor } from '../../monitors/kafka/lag-monitor.js';

const GROUPS = Number(process.argv[2] ?? 10);
const brokers = (process.env.HOPTRACE_KAFKA_BROKERS ?? '127.0.0.1:39092').split(',');
const counted = { requests: 0, bytesOut: 0, bytesIn: 0 };
const kafka = new Kafka({
  clientId: 'lag-cost',
  brokers,
  logLevel: logLevel.NOTHING,
  socketFactory: ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect);
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((chunk: Buffer, ...rest: unknown[]) => {
      counted.requests++;
      counted.bytesOut += chunk.length;
      return write(chunk, ...rest);
    }) as typeof socket.write;
    socket.on('data', (d: Buffer) => {
      counted.bytesIn += d.length;
    });
    return socket;
  },
});

const id = Date.now().toString(36);
const topic = `hoptrace-bench.lag-cost.${id}`;
const groups = Array.from({ length: GROUPS }, (_, i) => `hoptrace-bench.lag-cost.${id}.${i}`);
const setup = new Kafka({ clientId: 'setup', brokers, logLevel: logLevel.NOTHING });
const admin = setup.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
const producer = setup.producer({
  transactionalId: `lag-cost-${id}`,
  idempotent: true,
  maxInFlightRequests: 1,
});
await producer.connect();
await producer.send({
  topic,
  messages: Array.from({ length: 300 }, (_, i) => ({ value: `m${i}`, partition: i % 3 })),
});
let offset = 0;
const commitAll = async () => {
  offset += 10;
  const txn = await producer.transaction();
  for (const g of groups)
    await txn.sendOffsets({
      consumerGroupId: g,
      topics: [{ topic, partitions: [0, 1, 2].map((partition) => ({ partition, offset: String(offset) })) }],
    });
  await txn.commit();
};
await commitAll();

const monitor = createKafkaLagMonitor({ kafka, groups: new RegExp(`^hoptrace-bench\\.lag-cost\\.${id}\\.`) });
await monitor.poll(); // connections, metadata
const measure = async (label: string, before: () => Promise<void>) => {
  const runs = 5;
  const totals = { requests: 0, bytesOut: 0, bytesIn: 0, ms: 0 };
  for (let i = 0; i < runs; i++) {
    await before();
    const start = { ...counted };
    const t0 = performance.now();
    await monitor.poll();
    totals.ms += performance.now() - t0;
    totals.requests += counted.requests - start.requests;
    totals.bytesOut += counted.bytesOut - start.bytesOut;
    totals.bytesIn += counted.bytesIn - start.bytesIn;
  }
  const per = (n: number) => (n / runs).toFixed(1);
  console.log(
    `${label}: ${GROUPS} groups x 3 partitions: per poll ${per(totals.requests)} requests, ` +
      `${per(totals.bytesOut)} B out, ${per(totals.bytesIn)} B in, ${per(totals.ms)} ms; ` +
      `at 5 s: ${((totals.requests / runs) * 720).toFixed(0)} requests/hour, at 15 s: ${((totals.requests / runs) * 240).toFixed(0)}`,
  );
};
await measure('nothing moved', async () => undefined);
await measure('every group moved', commitAll);
await monitor.close();
await producer.disconnect();
await admin.deleteTopics({ topics: [topic] });
await admin.deleteGroups(groups).catch(() => undefined);
await admin.disconnect();
