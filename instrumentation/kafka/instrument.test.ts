import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import type {
  ConsumerRunConfig,
  EachBatchPayload,
  EachMessagePayload,
  Kafka,
  KafkaMessage,
  ProducerRecord,
} from 'kafkajs';
import { createTestTracing } from '../../test/helpers/tracing.js';
import { createOpenMetricsRegistry } from '../core/metrics.js';
import { instrumentKafka } from './instrument.js';
import { withMessageContext } from './message-context.js';
import type { KafkaInstrumentationOptions } from './types.js';

/** A stand-in kafkajs client that records what reaches it; no broker involved. */
class FakeKafka {
  readonly sent: ProducerRecord[] = [];
  runConfig: ConsumerRunConfig | undefined;
  sendError: Error | undefined;
  private readonly secret = 'private state';
  producer() {
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      send: async (record: ProducerRecord) => {
        if (this.sendError) throw this.sendError;
        this.sent.push(record);
        return [{ topicName: record.topic, partition: 0, errorCode: 0, baseOffset: '7' }];
      },
      sendBatch: async () => [],
      events: { CONNECT: 'producer.connect' },
    };
  }
  consumer() {
    return {
      run: async (config: ConsumerRunConfig) => {
        this.runConfig = config;
      },
      disconnect: async () => undefined,
      pause: () => 'paused',
    };
  }
  admin() {
    return this.secret;
  }
}

function setup(options: KafkaInstrumentationOptions = {}) {
  const tracing = createTestTracing();
  const registry = createOpenMetricsRegistry();
  const fake = new FakeKafka();
  const kafka = instrumentKafka(fake as unknown as Kafka, {
    tracerProvider: tracing.provider,
    registry,
    ...options,
  });
  return { tracing, registry, fake, kafka };
}

function payload(offset = '0', headers: KafkaMessage['headers'] = {}): EachMessagePayload {
  const message = {
    key: null,
    value: Buffer.from('v'),
    timestamp: String(Date.now()),
    attributes: 0,
    offset,
    headers,
  };
  return {
    topic: 'orders',
    partition: 0,
    message,
    heartbeat: async () => undefined,
    pause: () => () => undefined,
  };
}

describe('instrumentKafka (no broker)', () => {
  it('keeps the client: instanceof, other members bound to the real client, wrapping twice is a no-op', () => {
    const { fake, kafka } = setup();
    assert.ok(kafka instanceof FakeKafka);
    assert.equal((kafka as unknown as FakeKafka).admin(), 'private state');
    assert.equal(kafka.admin, kafka.admin, 'a stable bound method');
    assert.equal(instrumentKafka(kafka), kafka);
    assert.notEqual(kafka, fake);
  });

  it('sends a copy with hoptrace headers and leaves the caller record untouched', async () => {
    const { fake, kafka, tracing } = setup();
    const producer = kafka.producer();
    const headers = { own: 'yes' };
    const record = { topic: 'orders', messages: [{ value: 'v', headers }] };
    const result = await producer.send(record);
    assert.equal(result[0]?.baseOffset, '7');
    assert.deepEqual(record, { topic: 'orders', messages: [{ value: 'v', headers: { own: 'yes' } }] });
    const sentHeaders = fake.sent[0]?.messages[0]?.headers ?? {};
    assert.equal(sentHeaders.own, 'yes');
    assert.match(String(sentHeaders.traceparent), /^00-/);
    assert.ok(sentHeaders['x-hoptrace-message-id']);
    const span = tracing.spans()[0];
    assert.equal(span?.name, 'send orders');
    assert.equal(span?.attributes['messaging.kafka.offset'], 7);
  });

  it('a failed send rejects with the same error and marks the span', async () => {
    const { fake, kafka, tracing } = setup();
    const boom = new Error('broker down');
    fake.sendError = boom;
    await assert.rejects(
      kafka.producer().send({ topic: 't', messages: [{ value: 'v' }] }),
      (err) => err === boom,
    );
    assert.equal(tracing.spans()[0]?.status.code, SpanStatusCode.ERROR);
  });

  it('eachMessage: the same error passes through; without dead-lettering every failure is a retry', async () => {
    const { fake, kafka, tracing } = setup();
    const boom = new TypeError('bad');
    await kafka.consumer({ groupId: 'g' }).run({
      eachMessage: async () => {
        throw boom;
      },
    });
    const wrapped = fake.runConfig?.eachMessage as (p: EachMessagePayload) => Promise<void>;
    for (let i = 0; i < 3; i++) await assert.rejects(wrapped(payload('5')), (err) => err === boom);
    assert.deepEqual(
      tracing
        .spans()
        .map((s) => [s.attributes['hoptrace.delivery.attempt'], s.attributes['hoptrace.outcome']]),
      [
        [1, 'retry'],
        [2, 'retry'],
        [3, 'retry'],
      ],
    );
  });

  it('keeps the original error (and the message) when the dead letter cannot be written', async () => {
    const { fake, kafka, tracing } = setup({ deadLetter: { maxAttempts: 1 } });
    fake.sendError = new Error('dlq unreachable');
    const boom = new Error('handler');
    await kafka.consumer({ groupId: 'g' }).run({
      eachMessage: async () => {
        throw boom;
      },
    });
    const wrapped = fake.runConfig?.eachMessage as (p: EachMessagePayload) => Promise<void>;
    await assert.rejects(wrapped(payload()), (err) => err === boom);
    const process = tracing.spans().find((s) => s.name === 'process orders');
    assert.equal(process?.attributes['hoptrace.outcome'], 'retry');
    assert.equal(
      tracing.spans().find((s) => s.name === 'send orders.dlq')?.status.code,
      SpanStatusCode.ERROR,
    );
  });

  it('ignores malformed dead-letter options (off, with a warning)', async () => {
    const { fake, kafka } = setup({ deadLetter: { maxAttempts: 0 } });
    const boom = new Error('x');
    await kafka.consumer({ groupId: 'g' }).run({
      eachMessage: async () => {
        throw boom;
      },
    });
    const wrapped = fake.runConfig?.eachMessage as (p: EachMessagePayload) => Promise<void>;
    await assert.rejects(wrapped(payload()), (err) => err === boom);
    assert.equal(fake.sent.length, 0);
  });

  it('passes other consumer members through and copies the run config', async () => {
    const { fake, kafka } = setup();
    const consumer = kafka.consumer({ groupId: 'g' });
    assert.equal((consumer as unknown as { pause(): string }).pause(), 'paused');
    const eachMessage = async () => undefined;
    const config = { eachMessage, autoCommit: false };
    await consumer.run(config);
    assert.equal(config.eachMessage, eachMessage, 'caller config untouched');
    assert.equal(fake.runConfig?.autoCommit, false);
    assert.notEqual(fake.runConfig?.eachMessage, eachMessage);
  });

  it('hooks get exactly the documented message shapes (built only when a hook is set)', async () => {
    const seen: Record<string, unknown[]> = { publish: [], consume: [], settle: [] };
    const { fake, kafka } = setup({
      hooks: {
        publishHook: (_span, info) => seen.publish?.push(info.message),
        consumeHook: (_span, info) => seen.consume?.push(info.message),
        settleHook: (_span, info) => seen.settle?.push(info.message),
      },
    });
    const message = { value: 'v' };
    await kafka.producer().send({ topic: 'orders', messages: [message] });
    assert.deepEqual(seen.publish, [{ topic: 'orders', message }]);

    await kafka.consumer({ groupId: 'g' }).run({ eachMessage: async () => undefined });
    const each = payload('3');
    const eachMessage = fake.runConfig?.eachMessage as (p: EachMessagePayload) => Promise<void>;
    await eachMessage(each);
    const expected = { topic: 'orders', partition: 0, message: each.message };
    assert.deepEqual(seen.consume, [expected]);
    assert.deepEqual(seen.settle, [expected]);

    await kafka.consumer({ groupId: 'g' }).run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) withMessageContext(m, () => undefined);
      },
    });
    const batched = payload('4').message;
    const eachBatch = fake.runConfig?.eachBatch as (p: EachBatchPayload) => Promise<void>;
    await eachBatch({
      batch: { topic: 'orders', partition: 2, messages: [batched] },
    } as unknown as EachBatchPayload);
    const batchExpected = { topic: 'orders', partition: 2, message: batched };
    assert.deepEqual(seen.consume?.[1], batchExpected);
    assert.deepEqual(seen.settle?.[1], batchExpected);
    // Plain objects with these keys only (no payload functions, no wrapper internals).
    for (const info of [...(seen.consume ?? []), ...(seen.settle ?? [])])
      assert.deepEqual(Object.keys(info as object).sort(), ['message', 'partition', 'topic']);
  });

  it('counts each topic under its own labels when topics alternate (eachMessage and eachBatch)', async () => {
    const { fake, kafka, registry } = setup();
    await kafka.consumer({ groupId: 'g' }).run({ eachMessage: async () => undefined });
    const eachMessage = fake.runConfig?.eachMessage as (p: EachMessagePayload) => Promise<void>;
    for (const topic of ['a', 'b', 'a', 'a', 'b']) await eachMessage({ ...payload(), topic });
    await kafka.consumer({ groupId: 'h' }).run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) withMessageContext(m, () => undefined);
      },
    });
    const eachBatch = fake.runConfig?.eachBatch as (p: EachBatchPayload) => Promise<void>;
    for (const topic of ['a', 'c'])
      await eachBatch({
        batch: { topic, partition: 0, messages: [payload('1').message, payload('2').message] },
      } as unknown as EachBatchPayload);
    const text = await registry.metrics();
    const consumed = (topic: string, group: string) =>
      text.match(
        new RegExp(
          `messaging_client_consumed_messages_total\\{[^}]*messaging_destination_name="${topic}",messaging_consumer_group_name="${group}"[^}]*\\} (\\d+)`,
        ),
      )?.[1];
    assert.equal(consumed('a', 'g'), '3');
    assert.equal(consumed('b', 'g'), '2');
    assert.equal(consumed('a', 'h'), '2');
    assert.equal(consumed('c', 'h'), '2');
  });
});
