/**
 * Type test (compiled by `npm run build`, never run): instrumented kafkajs objects keep kafkajs's own
 * types, so switching to hoptrace is a one-line change.
 */
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type EachMessagePayload,
  Kafka,
  type Producer,
  type RecordMetadata,
  type Transaction,
} from 'kafkajs';
import {
  createKafkaLagMonitor,
  instrumentKafka,
  type KafkaInstrumentationOptions,
  type KafkaLagMonitor,
  type LagSnapshot,
  withMessageContext,
} from '../../instrumentation/kafka/index.js';

const options: KafkaInstrumentationOptions = {
  serviceName: 'billing',
  linkMode: 'link',
  deadLetter: { maxAttempts: 3, topic: (source) => `${source}.dead` },
  hooks: {
    publishHook: (span, info) => span.setAttribute('topic', info.message.topic),
    consumeHook: (_span, info) => info.message.message.offset,
    settleHook: (_span, info) => info.outcome,
  },
};

const kafka: Kafka = instrumentKafka(new Kafka({ clientId: 'app', brokers: ['localhost:9092'] }), options);
const sameClass: boolean = kafka instanceof Kafka;
const producer: Producer = kafka.producer({ idempotent: true });
const consumer: Consumer = kafka.consumer({ groupId: 'billing' });
const admin: Admin = kafka.admin();

async function typed(): Promise<void> {
  const sent: RecordMetadata[] = await producer.send({
    topic: 't',
    messages: [{ value: 'v', headers: { a: Buffer.from('x') } }],
  });
  const transaction: Transaction = await producer.transaction();
  await transaction.sendBatch({ topicMessages: [{ topic: 't', messages: [{ value: null }] }] });
  await transaction.commit();
  await consumer.run({
    eachMessage: async ({ message, pause }: EachMessagePayload) => {
      message.headers?.traceparent;
      pause();
    },
  });
  await consumer.run({
    eachBatch: async ({ batch, resolveOffset }: EachBatchPayload) => {
      for (const message of batch.messages) {
        const value: number = await withMessageContext(message, async () => 42);
        resolveOffset(message.offset);
        void value;
      }
    },
  });
  consumer.pause([{ topic: 't' }]);
  consumer.seek({ topic: 't', partition: 0, offset: '0' });
  const monitor: KafkaLagMonitor = createKafkaLagMonitor({
    kafka,
    groups: /^billing/,
    topics: ['orders'],
    windowMs: 30_000,
  });
  const snapshot: LagSnapshot = await monitor.poll();
  const status: 'OK' | 'WARN' | 'STALL' | 'STOP' | undefined = snapshot.groups[0]?.status;
  // @ts-expect-error: send takes a ProducerRecord, as in kafkajs
  await producer.send({ messages: [] });
  // @ts-expect-error: consumer() requires a groupId, as in kafkajs
  kafka.consumer({});
  // @ts-expect-error: deadLetter needs maxAttempts
  instrumentKafka(kafka, { deadLetter: {} });
  void [sent, status, admin, sameClass];
}
void typed;
