import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { type EachMessagePayload, type Kafka, logLevel } from 'kafkajs';
import { withCorrelationId } from '../../../instrumentation/core/correlation.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { instrumentKafka } from '../../../instrumentation/kafka/index.js';
import { createTestTracing } from '../../helpers/tracing.js';
import {
  createTopic,
  disconnectAll,
  fastConsumerConfig,
  metricSum,
  rawKafka,
  requireKafka,
  startConsumer,
  uniqueName,
  waitFor,
} from './kafka-helpers.js';

const cleanup: { disconnect(): Promise<void> }[] = [];
after(() => disconnectAll(...cleanup));

class PaymentDeclined extends Error {}

/** A kafkajs client whose error log entries for failed handlers are recorded. */
function loggingKafka(errors: unknown[]): Kafka {
  return rawKafka({
    logLevel: logLevel.ERROR,
    logCreator:
      () =>
      ({ log }) => {
        if (log.message === 'Error when calling eachMessage') errors.push((log as { error?: unknown }).error);
      },
  });
}

/** Produces 3 messages; the handler throws `boom` at offset 1 twice, then succeeds. Returns what kafkajs did. */
async function failingHandlerScenario(kafka: Kafka, boom: Error) {
  const topic = uniqueName('retry');
  await createTopic(topic);
  const calls: string[] = [];
  let failuresLeft = 2;
  const consumer = kafka.consumer(fastConsumerConfig(uniqueName('g')));
  cleanup.push(consumer);
  let crashed = 0;
  consumer.on(consumer.events.CRASH, () => {
    crashed += 1;
  });
  await startConsumer(consumer, [topic], {
    eachMessage: async ({ message }) => {
      calls.push(message.offset);
      if (message.offset === '1' && failuresLeft > 0) {
        failuresLeft -= 1;
        throw boom;
      }
    },
  });
  const producer = kafka.producer();
  cleanup.push(producer);
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
  await waitFor(() => calls.includes('2'), 'the last message');
  const admin = kafka.admin();
  await admin.connect();
  const committed = await waitFor(async () => {
    const [offsets] = await admin.fetchOffsets({
      groupId: (await consumer.describeGroup()).groupId,
      topics: [topic],
    });
    return offsets?.partitions[0]?.offset === '3' ? '3' : undefined;
  }, 'the final commit');
  await admin.disconnect();
  await consumer.disconnect();
  return { topic, calls, crashed, committed };
}

describe('failing handlers on a real broker', () => {
  it('a handler that throws behaves exactly as without instrumentation: same retries, same error object', async (t) => {
    if (!(await requireKafka(t))) return;
    const rawErrors: unknown[] = [];
    const rawBoom = new PaymentDeclined('declined');
    const raw = await failingHandlerScenario(loggingKafka(rawErrors), rawBoom);

    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const tracedErrors: unknown[] = [];
    const tracedBoom = new PaymentDeclined('declined');
    const traced = await failingHandlerScenario(
      instrumentKafka(loggingKafka(tracedErrors), { tracerProvider: tracing.provider, registry }),
      tracedBoom,
    );

    assert.deepEqual(raw.calls, ['0', '1', '1', '1', '2']);
    assert.deepEqual(traced.calls, raw.calls, 'kafkajs retried the same way');
    assert.equal(traced.committed, raw.committed);
    assert.equal(traced.crashed, raw.crashed);
    assert.equal(rawErrors.length, 2);
    assert.equal(tracedErrors.length, rawErrors.length);
    for (const error of tracedErrors)
      assert.equal(error, tracedBoom, 'kafkajs saw the very same error object');

    const spans = tracing
      .spans()
      .filter((s) => s.name === `process ${traced.topic}` && s.attributes['messaging.kafka.offset'] === 1);
    assert.deepEqual(
      spans.map((s) => [s.attributes['hoptrace.delivery.attempt'], s.attributes['hoptrace.outcome']]),
      [
        [1, 'retry'],
        [2, 'retry'],
        [3, 'ack'],
      ],
    );
    assert.equal(spans[0]?.attributes['error.type'], 'PaymentDeclined');
    assert.equal(spans[0]?.status.code, SpanStatusCode.ERROR);
    const labels = { messaging_destination_name: traced.topic };
    assert.equal(
      await metricSum(registry, 'messaging_client_consumed_messages_total', {
        ...labels,
        hoptrace_outcome: 'retry',
      }),
      2,
    );
    assert.equal(
      await metricSum(registry, 'messaging_client_consumed_messages_total', {
        ...labels,
        hoptrace_outcome: 'ack',
      }),
      3,
    );
    assert.equal(await metricSum(registry, 'hoptrace_redeliveries_total', labels), 2);
  });

  it('throwing hooks do not affect the flow', async (t) => {
    if (!(await requireKafka(t))) return;
    const tracing = createTestTracing();
    const hookCalls = { publish: 0, consume: 0, settle: 0 };
    const kafka = instrumentKafka(rawKafka(), {
      tracerProvider: tracing.provider,
      registry: createOpenMetricsRegistry(),
      hooks: {
        publishHook: () => {
          hookCalls.publish += 1;
          throw new Error('publish hook');
        },
        consumeHook: () => {
          hookCalls.consume += 1;
          throw new Error('consume hook');
        },
        settleHook: () => {
          hookCalls.settle += 1;
          throw new Error('settle hook');
        },
      },
    });
    const topic = uniqueName('hooks');
    await createTopic(topic);
    const values: string[] = [];
    const consumer = kafka.consumer(fastConsumerConfig(uniqueName('g')));
    cleanup.push(consumer);
    await startConsumer(consumer, [topic], {
      eachMessage: async ({ message }) => {
        values.push(String(message.value));
      },
    });
    const producer = kafka.producer();
    cleanup.push(producer);
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'one' }, { value: 'two' }] });
    await waitFor(() => values.length === 2, 'both messages');
    await waitFor(() => tracing.spans().filter((s) => s.name === `process ${topic}`).length === 2, 'spans');
    assert.deepEqual(values, ['one', 'two']);
    assert.deepEqual(hookCalls, { publish: 2, consume: 2, settle: 2 });
    assert.equal(tracing.spans().filter((s) => s.name === `send ${topic}`).length, 2);
  });

  it('dead-letters after maxAttempts failures, keeps the headers, and the DLQ consumer lands in the original trace, under the dead-letter send', async (t) => {
    if (!(await requireKafka(t))) return;
    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const kafka = instrumentKafka(rawKafka(), {
      tracerProvider: tracing.provider,
      registry,
      deadLetter: { maxAttempts: 3 },
    });
    const topic = uniqueName('payments');
    const dlq = `${topic}.dlq`;
    await createTopic(topic);
    await createTopic(dlq);
    const group = uniqueName('payments-svc');

    const attempts: string[] = [];
    const consumer = kafka.consumer(fastConsumerConfig(group));
    cleanup.push(consumer);
    await startConsumer(consumer, [topic], {
      eachMessage: async ({ message }) => {
        attempts.push(String(message.key));
        if (String(message.key) === 'poison') throw new PaymentDeclined('card expired');
      },
    });
    const deadLetters: EachMessagePayload[] = [];
    const dlqConsumer = kafka.consumer(fastConsumerConfig(uniqueName('dlq-reader')));
    cleanup.push(dlqConsumer);
    await startConsumer(dlqConsumer, [dlq], {
      eachMessage: async (payload) => {
        deadLetters.push(payload);
      },
    });

    const producer = kafka.producer();
    cleanup.push(producer);
    await producer.connect();
    const tenant = Buffer.from([7, 7, 7]);
    await withCorrelationId('flow-dlq', () =>
      producer.send({
        topic,
        messages: [
          { key: 'poison', value: 'p', headers: { tenant, note: 'keep me' } },
          { key: 'fine', value: 'f' },
        ],
      }),
    );

    await waitFor(
      () => deadLetters.length === 1 && attempts.includes('fine'),
      'the dead letter and the next message',
    );
    assert.deepEqual(
      attempts,
      ['poison', 'poison', 'poison', 'fine'],
      'three attempts, then the consumer moved on',
    );

    const dead = deadLetters[0] as EachMessagePayload;
    const h = dead.message.headers ?? {};
    assert.equal(String(dead.message.key), 'poison');
    assert.equal(String(dead.message.value), 'p');
    assert.deepEqual(h.tenant, tenant, 'binary header preserved');
    assert.equal(String(h.note), 'keep me');
    assert.equal(String(h['x-correlation-id']), 'flow-dlq');
    assert.equal(String(h['x-hoptrace-dead-letter-reason']), 'max_attempts');
    // One dead-letter rule (docs/contract.md): `<error.type>: <message>`, as the bus writes it.
    assert.equal(String(h['x-hoptrace-dead-letter-error']), 'PaymentDeclined: card expired');
    assert.equal(String(h['x-hoptrace-dead-letter-error-type']), 'PaymentDeclined');
    assert.equal(String(h['x-hoptrace-dead-letter-attempts']), '3');
    assert.equal(String(h['x-hoptrace-dead-letter-source']), topic);
    assert.equal(String(h['x-hoptrace-dead-letter-source-partition']), '0');
    assert.equal(String(h['x-hoptrace-dead-letter-source-offset']), '0');
    assert.equal(String(h['x-hoptrace-dead-letter-group']), group);

    await waitFor(() => tracing.spans().some((s) => s.name === `process ${dlq}`), 'the DLQ process span');
    const original = tracing
      .spans()
      .find((s) => s.name === `send ${topic}` && s.attributes['messaging.kafka.message.key'] === 'poison');
    assert.ok(original);
    const dlqSpan = tracing.spans().find((s) => s.name === `process ${dlq}`);
    assert.equal(
      dlqSpan?.spanContext().traceId,
      original.spanContext().traceId,
      'DLQ consumer in the original trace',
    );
    assert.equal(dlqSpan?.attributes['hoptrace.dead_letter.reason'], 'max_attempts');
    assert.equal(dlqSpan?.attributes['hoptrace.dead_letter.source'], topic);
    assert.equal(dlqSpan?.attributes['messaging.message.conversation_id'], 'flow-dlq');
    assert.equal(
      dlqSpan?.attributes['messaging.message.id'],
      original.attributes['messaging.message.id'],
      'same message ID',
    );

    const failed = tracing
      .spans()
      .filter(
        (s) => s.name === `process ${topic}` && s.attributes['messaging.kafka.message.key'] === 'poison',
      );
    assert.deepEqual(
      failed.map((s) => s.attributes['hoptrace.outcome']),
      ['retry', 'retry', 'dead_letter'],
    );
    const dlqSend = tracing.spans().find((s) => s.name === `send ${dlq}`);
    assert.equal(
      dlqSend?.parentSpanContext?.spanId,
      failed[2]?.spanContext().spanId,
      'DLQ write under the failed delivery',
    );
    // The dead letter carries the dead-letter send's context: its consumer hangs under the dead-lettering.
    assert.equal(dlqSpan?.parentSpanContext?.spanId, dlqSend?.spanContext().spanId);
    assert.ok(
      dlqSpan?.links.some((l) => l.context.spanId === dlqSend?.spanContext().spanId),
      'and links to it',
    );

    const labels = { messaging_destination_name: topic, messaging_consumer_group_name: group };
    assert.equal(
      await metricSum(registry, 'hoptrace_dead_lettered_messages_total', {
        ...labels,
        reason: 'max_attempts',
      }),
      1,
    );
    assert.equal(
      await metricSum(registry, 'messaging_client_consumed_messages_total', {
        ...labels,
        hoptrace_outcome: 'dead_letter',
      }),
      1,
    );
    assert.equal(
      await metricSum(registry, 'messaging_client_consumed_messages_total', {
        ...labels,
        hoptrace_outcome: 'retry',
      }),
      2,
    );
    assert.equal(
      await metricSum(registry, 'messaging_client_consumed_messages_total', {
        ...labels,
        hoptrace_outcome: 'ack',
      }),
      1,
    );
    assert.equal(
      await metricSum(registry, 'hoptrace_dead_lettered_messages_total', { messaging_destination_name: dlq }),
      0,
      'the DLQ consumer does not count the dead letter again',
    );
  });
});
