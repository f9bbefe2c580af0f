/**
 * One dead-letter rule (docs/contract.md): a message that fails its last attempt on the bus and on Kafka
 * (a real broker) is dead-lettered with the same `x-hoptrace-dead-letter-*` headers, cut at the same
 * limit, from the same error.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { EachMessagePayload } from 'kafkajs';
import { Bus } from '../../../instrumentation/bus/index.js';
import type { BusMessage } from '../../../instrumentation/bus/types.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { headerString } from '../../../instrumentation/core/propagation.js';
import { instrumentKafka } from '../../../instrumentation/kafka/index.js';
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
/** Longer than the limit, so both transports must cut it. */
const LONG = `card expired ${'x'.repeat(2000)}`;

const DEAD_LETTER_PREFIX = 'x-hoptrace-dead-letter-';
/** Kafka's partitioned source adds where the record was; the bus has no partitions. */
const KAFKA_ONLY = new Set([
  'x-hoptrace-dead-letter-source-partition',
  'x-hoptrace-dead-letter-source-offset',
]);

function deadLetterHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(DEAD_LETTER_PREFIX)) out[name] = headerString(value) ?? '';
  }
  return out;
}

describe('dead letters from the bus and from Kafka', () => {
  it('carry the same headers with the same limits', async (t) => {
    if (!(await requireKafka(t))) return;

    // The bus: three attempts, then `order.placed.dlq`.
    const busRegistry = createOpenMetricsRegistry();
    const bus = new Bus({ name: 'dlq-rule', registry: busRegistry, defaults: { backoff: { initialMs: 1 } } });
    const busLetters: BusMessage[] = [];
    bus.subscribe(
      'payments',
      () => {
        throw new PaymentDeclined(LONG);
      },
      { group: 'billing', maxAttempts: 3 },
    );
    bus.subscribe('payments.dlq', (m) => void busLetters.push(m));
    await bus.publish('payments', { id: 1 });
    await bus.drain();
    await bus.close();

    // Kafka: three attempts, then `<topic>.dlq`.
    const kafkaRegistry = createOpenMetricsRegistry();
    const kafka = instrumentKafka(rawKafka(), { registry: kafkaRegistry, deadLetter: { maxAttempts: 3 } });
    const topic = uniqueName('payments');
    await createTopic(topic);
    await createTopic(`${topic}.dlq`);
    const consumer = kafka.consumer(fastConsumerConfig(uniqueName('billing')));
    cleanup.push(consumer);
    await startConsumer(consumer, [topic], {
      eachMessage: async () => {
        throw new PaymentDeclined(LONG);
      },
    });
    const kafkaLetters: EachMessagePayload[] = [];
    const reader = rawKafka().consumer(fastConsumerConfig(uniqueName('dlq-reader')));
    cleanup.push(reader);
    await startConsumer(reader, [`${topic}.dlq`], {
      eachMessage: async (payload) => void kafkaLetters.push(payload),
    });
    const producer = kafka.producer();
    cleanup.push(producer);
    await producer.connect();
    await producer.send({ topic, messages: [{ value: '{"id":1}' }] });
    await waitFor(() => kafkaLetters.length === 1, 'the Kafka dead letter');

    assert.equal(busLetters.length, 1);
    const fromBus = deadLetterHeaders(busLetters[0]?.headers ?? {});
    const fromKafka = deadLetterHeaders((kafkaLetters[0]?.message.headers ?? {}) as Record<string, unknown>);

    // The same header names (Kafka adds only where the record was in its partition).
    assert.deepEqual(
      Object.keys(fromKafka)
        .filter((name) => !KAFKA_ONLY.has(name))
        .sort(),
      Object.keys(fromBus).sort(),
    );
    assert.deepEqual(Object.keys(fromBus).sort(), [
      'x-hoptrace-dead-letter-at',
      'x-hoptrace-dead-letter-attempts',
      'x-hoptrace-dead-letter-error',
      'x-hoptrace-dead-letter-error-type',
      'x-hoptrace-dead-letter-group',
      'x-hoptrace-dead-letter-reason',
      'x-hoptrace-dead-letter-source',
    ]);
    // The same values where the transports agree, and the same limit on the error text.
    for (const name of ['reason', 'error', 'error-type', 'attempts']) {
      assert.equal(fromKafka[`${DEAD_LETTER_PREFIX}${name}`], fromBus[`${DEAD_LETTER_PREFIX}${name}`], name);
    }
    assert.equal(fromBus['x-hoptrace-dead-letter-reason'], 'max_attempts');
    assert.equal(fromBus['x-hoptrace-dead-letter-attempts'], '3');
    assert.equal(fromBus['x-hoptrace-dead-letter-error-type'], 'PaymentDeclined');
    assert.equal(fromBus['x-hoptrace-dead-letter-error'], `PaymentDeclined: ${LONG}`.slice(0, 512));
    assert.equal(fromBus['x-hoptrace-dead-letter-error']?.length, 512);
    assert.equal(fromBus['x-hoptrace-dead-letter-source'], 'payments');
    assert.equal(fromKafka['x-hoptrace-dead-letter-source'], topic);
    assert.equal(fromBus['x-hoptrace-dead-letter-group'], 'billing');
    assert.match(fromKafka['x-hoptrace-dead-letter-group'] ?? '', /^billing-/);
    for (const letters of [fromBus, fromKafka])
      assert.match(letters['x-hoptrace-dead-letter-at'] ?? '', /^\d{13}$/);

    // Counted once each, where hoptrace gave up.
    const counted = (registry: typeof busRegistry) =>
      metricSum(registry, 'hoptrace_dead_lettered_messages_total', { reason: 'max_attempts' });
    assert.equal(await counted(busRegistry), 1);
    assert.equal(await counted(kafkaRegistry), 1);
  });
});
