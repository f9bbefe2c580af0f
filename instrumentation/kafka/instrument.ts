/**
 * `instrumentKafka(kafka, options)`: the same Kafka client, whose producers and consumers are traced.
 * The client is wrapped in a Proxy (never patched): `instanceof Kafka`, `admin()`, `logger()` and every
 * other member behave as before.
 */
import type { Consumer, ConsumerConfig, Kafka, Producer, ProducerConfig } from 'kafkajs';
import { createInstrumentation } from '../core/instrumentation.js';
import { MESSAGING_SYSTEM_KAFKA } from '../core/semconv.js';
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
    deadLetter: resolveDeadLetter(options?.deadLetter, (message) =>
      instr.guard.warnOnce('option:deadLetter', message),
    ),
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

/** Valid dead-letter options, or undefined (off) with a warning when they are malformed. */
export function resolveDeadLetter(
  options: KafkaDeadLetterOptions | undefined,
  warn: (message: string) => void,
): Readonly<KafkaDeadLetterOptions> | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    warn('option deadLetter must be an object; dead-lettering is off');
    return undefined;
  }
  const { maxAttempts, topic, producerConfig } = options;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    warn('option deadLetter.maxAttempts must be an integer >= 1; dead-lettering is off');
    return undefined;
  }
  if (
    topic !== undefined &&
    typeof topic !== 'function' &&
    (typeof topic !== 'string' || topic.length === 0)
  ) {
    warn('option deadLetter.topic must be a non-empty string or a function; dead-lettering is off');
    return undefined;
  }
  return Object.freeze({ maxAttempts, topic, producerConfig });
}
