/**
 * `instrumentKafka(kafka, options)`: the same Kafka client, whose producers and consumers are traced.
 * The client is wrapped in a Proxy (never patched): `instanceof Kafka`, `admin()`, `logger()` and every
 * other member behave as before.
 */
import type { Consumer, ConsumerConfig, Kafka, Producer, ProducerConfig } from 'kafkajs';
import { MESSAGING_SYSTEM_KAFKA } from '../core/semconv.js';
import {
  createInstrumentation,
  type OptionPolicy,
  type OptionRule,
  RULES,
  resolveOption,
  warnPolicy,
} from '../transport/index.js';
import { wrapConsumer } from './consumer.js';
import type { KafkaWrapContext } from './internal-types.js';
import { wrapProducer } from './producer.js';
import type {
  KafkaConsumeMessage,
  KafkaDeadLetterOptions,
  KafkaInstrumentationOptions,
  KafkaPublishMessage,
} from './types.js';

const INSTRUMENTED = Symbol('hoptrace.kafka.instrumented');

/**
 * Returns `kafka` with traced `producer()` and `consumer()`; call it once where the client is created.
 * Wrapping an already instrumented client returns it unchanged.
 */
export function instrumentKafka<T extends Kafka>(kafka: T, options?: KafkaInstrumentationOptions): T {
  if ((kafka as unknown as Record<symbol, unknown>)[INSTRUMENTED] === true) return kafka;
  const instr = createInstrumentation<KafkaPublishMessage, KafkaConsumeMessage>(
    'kafka',
    MESSAGING_SYSTEM_KAFKA,
    options,
  );
  const ctx: KafkaWrapContext = {
    instr,
    kafka,
    deadLetter: resolveDeadLetter(options?.deadLetter, warnPolicy(instr.guard)),
  };

  const producer = (config?: ProducerConfig): Producer => {
    const raw = kafka.producer(config);
    return instr.guard.run(
      'producer',
      () => wrapProducer(instr, raw),
      () => raw,
    );
  };
  const consumer = (config: ConsumerConfig): Consumer => {
    const raw = kafka.consumer(config);
    return instr.guard.run(
      'consumer',
      () => wrapConsumer(ctx, raw, config?.groupId),
      () => raw,
    );
  };

  const bound = new Map<PropertyKey, { original: unknown; bound: unknown }>();
  return new Proxy(kafka, {
    get(target, prop) {
      if (prop === 'producer') return producer;
      if (prop === 'consumer') return consumer;
      if (prop === INSTRUMENTED) return true;
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      // Class methods read private state from `this`: call them on the real client (same function each time).
      const cached = bound.get(prop);
      if (cached?.original === value) return cached.bound;
      const fn = value.bind(target);
      bound.set(prop, { original: value, bound: fn });
      return fn;
    },
  });
}

/** The dead-letter topic option: a non-empty name or a function of the source topic. */
const TOPIC: OptionRule<string | ((sourceTopic: string) => string)> = {
  expected: 'a non-empty string or a function',
  accepts: (v): v is string | ((sourceTopic: string) => string) =>
    typeof v === 'function' || (typeof v === 'string' && v.length > 0),
};

/**
 * Valid dead-letter options, or undefined (off) when they are malformed: the core's resolver under the
 * warn policy, with dead-lettering off as the fallback of every field (half-valid options are not guessed at).
 */
export function resolveDeadLetter(
  options: KafkaDeadLetterOptions | undefined,
  policy: OptionPolicy,
): Readonly<KafkaDeadLetterOptions> | undefined {
  const OFF = 'no dead-lettering';
  const given = resolveOption(policy, 'deadLetter', options, RULES.object, undefined, OFF) as
    | KafkaDeadLetterOptions
    | undefined;
  if (!given) return undefined;
  const { producerConfig } = given;
  // Required: an absent maxAttempts is as invalid as a bad one.
  const maxAttempts = resolveOption(
    policy,
    'deadLetter.maxAttempts',
    given.maxAttempts ?? null,
    RULES.positiveInt,
    undefined,
    OFF,
  );
  if (maxAttempts === undefined) return undefined;
  const INVALID = null;
  const topic =
    given.topic === undefined
      ? undefined
      : resolveOption(policy, 'deadLetter.topic', given.topic, TOPIC, INVALID, OFF);
  if (topic === INVALID) return undefined;
  return Object.freeze({ maxAttempts, topic, producerConfig });
}
