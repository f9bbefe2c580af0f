import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, describe, it } from 'node:test';
import { propagation, SpanKind } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type * as KafkaJs from 'kafkajs';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { instrumentKafka } from '../../../instrumentation/kafka/index.js';
import { createTestTracing } from '../../helpers/tracing.js';
import {
  brokers,
  createTopic,
  disconnectAll,
  fastConsumerConfig,
  rawKafka,
  requireKafka,
  startConsumer,
  uniqueName,
  waitFor,
} from './kafka-helpers.js';

const cleanup: { disconnect(): Promise<void> }[] = [];
after(() => disconnectAll(...cleanup));

const OTEL_SCOPE = '@opentelemetry/instrumentation-kafkajs';
const scopeOf = (span: ReadableSpan) => span.instrumentationScope.name;

describe('interop with @opentelemetry/instrumentation-kafkajs', () => {
  it('shares trace IDs both ways: OTel producer -> hoptrace consumer, hoptrace producer -> OTel consumer', async (t) => {
    if (!(await requireKafka(t))) return;
    const tracing = createTestTracing();
    // OTel's instrumentation injects through the global propagator; an app using it registers one.
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    t.after(() => propagation.disable());

    const toHoptrace = uniqueName('otel-to-hoptrace');
    const toOtel = uniqueName('hoptrace-to-otel');
    await createTopic(toHoptrace);
    await createTopic(toOtel);

    // OTel patches kafkajs when it is required after enable(); objects created meanwhile stay patched.
    const otel = new KafkaJsInstrumentation();
    otel.setTracerProvider(tracing.provider);
    otel.enable();
    const { Kafka: PatchedKafka } = createRequire(import.meta.url)('kafkajs') as typeof KafkaJs;
    assert.ok(
      (PatchedKafka.prototype.producer as unknown as { __wrapped?: boolean }).__wrapped,
      'kafkajs is patched by OTel',
    );
    const otelKafka = new PatchedKafka({ brokers: brokers(), logLevel: 0 });
    const otelProducer = otelKafka.producer();
    const otelConsumer = otelKafka.consumer(fastConsumerConfig(uniqueName('otel-group')));
    otel.disable();
    assert.ok(!(PatchedKafka.prototype.producer as unknown as { __wrapped?: boolean }).__wrapped);

    const hoptrace = instrumentKafka(rawKafka(), {
      tracerProvider: tracing.provider,
      registry: createOpenMetricsRegistry(),
    });
    const hoptraceProducer = hoptrace.producer();
    const hoptraceConsumer = hoptrace.consumer(fastConsumerConfig(uniqueName('hoptrace-group')));
    cleanup.push(otelProducer, otelConsumer, hoptraceProducer, hoptraceConsumer);

    let otelReceived = 0;
    let hoptraceReceived = 0;
    await startConsumer(otelConsumer, [toOtel], {
      eachMessage: async () => {
        otelReceived += 1;
      },
    });
    await startConsumer(hoptraceConsumer, [toHoptrace], {
      eachMessage: async () => {
        hoptraceReceived += 1;
      },
    });
    await otelProducer.connect();
    await hoptraceProducer.connect();
    await otelProducer.send({ topic: toHoptrace, messages: [{ value: 'from otel' }] });
    await hoptraceProducer.send({ topic: toOtel, messages: [{ value: 'from hoptrace' }] });
    await waitFor(() => otelReceived === 1 && hoptraceReceived === 1, 'both messages');

    const consumerSpan = (scope: string, topic: string) =>
      tracing
        .spans()
        .find(
          (s) =>
            scopeOf(s) === scope &&
            s.kind === SpanKind.CONSUMER &&
            s.attributes['messaging.destination.name'] === topic,
        );
    const producerSpan = (scope: string, topic: string) =>
      tracing
        .spans()
        .find(
          (s) =>
            scopeOf(s) === scope &&
            s.kind === SpanKind.PRODUCER &&
            s.attributes['messaging.destination.name'] === topic,
        );
    await waitFor(
      () => consumerSpan('hoptrace', toHoptrace) && consumerSpan(OTEL_SCOPE, toOtel),
      'both consumer spans',
    );

    const otelSend = producerSpan(OTEL_SCOPE, toHoptrace);
    const hoptraceProcess = consumerSpan('hoptrace', toHoptrace);
    assert.ok(otelSend && hoptraceProcess);
    assert.equal(hoptraceProcess.spanContext().traceId, otelSend.spanContext().traceId);
    assert.equal(hoptraceProcess.parentSpanContext?.spanId, otelSend.spanContext().spanId);

    const hoptraceSend = producerSpan('hoptrace', toOtel);
    const otelProcess = consumerSpan(OTEL_SCOPE, toOtel);
    assert.ok(hoptraceSend && otelProcess);
    assert.equal(otelProcess.spanContext().traceId, hoptraceSend.spanContext().traceId);
    assert.equal(otelProcess.parentSpanContext?.spanId, hoptraceSend.spanContext().spanId);
  });
});
