/**
 * In-process fan-out to 3 subscribers, per emit: raw EventEmitter, hand-written OTel tracing around an
 * EventEmitter (producer span, W3C inject/extract, consumer span per listener), the bare OTel spans of the
 * Bus's span contract with the four messaging attributes (`otel-spans-only`) and with every attribute the
 * Bus's spans carry (`otel-contract-spans`), and the hoptrace Bus with tracing and metrics, sampled and not
 * sampled. Handlers do nothing, so the numbers are pure overhead. `cpu_us_per_emit`: process CPU over the
 * timed loop, the figure to read on a loaded machine.
 */
import { EventEmitter } from 'node:events';
import { context, defaultTextMapGetter, defaultTextMapSetter, SpanKind, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { Bus } from '../../instrumentation/bus/bus.js';
import { createOpenMetricsRegistry } from '../../instrumentation/core/metrics.js';
import {
  benchTracing,
  FLOOR_CORRELATION_ID,
  FLOOR_MESSAGE_ID,
  type ModeResult,
  workload,
} from '../harness.js';

const LISTENERS = 3;
const GROUPS = ['g0', 'g1', 'g2'];
const BATCH = 500;

/** CPU (user + system, all threads) per emit of the last `timeEmits`: robust to a loaded machine. */
let lastCpuUsPerEmit = 0;

async function timeEmits(n: number, emit: (i: number) => void | Promise<void>, settle: () => Promise<void>) {
  // Warm up the JIT, then measure n emits in batches, letting async work settle between batches.
  for (let i = 0; i < 5_000; i++) await emit(i);
  await settle();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i += BATCH) {
    for (let j = 0; j < BATCH; j++) void emit(i + j);
    await settle();
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1000 / n;
  const used = process.cpuUsage(cpu);
  lastCpuUsPerEmit = (used.user + used.system) / n;
  return elapsed;
}

async function eventEmitter(scale: number): Promise<ModeResult> {
  const emitter = new EventEmitter();
  let delivered = 0;
  for (let i = 0; i < LISTENERS; i++) emitter.on('order.placed', () => void delivered++);
  const us = await timeEmits(
    200_000 * scale,
    (i) => void emitter.emit('order.placed', { id: i }),
    async () => {},
  );
  return { unit: 'us_per_emit', value: us, extra: { delivered, cpu_us_per_emit: lastCpuUsPerEmit } };
}

async function otelEventEmitter(scale: number): Promise<ModeResult> {
  const { provider, exporter } = benchTracing(true);
  const tracer = provider.getTracer('hand-written');
  const propagator = new W3CTraceContextPropagator();
  const emitter = new EventEmitter();
  for (let i = 0; i < LISTENERS; i++) {
    emitter.on('order.placed', (message: { headers: Record<string, string> }) => {
      const parent = propagator.extract(context.active(), message.headers, defaultTextMapGetter);
      const span = tracer.startSpan('process order.placed', { kind: SpanKind.CONSUMER }, parent);
      context.with(trace.setSpan(parent, span), () => undefined);
      span.end();
    });
  }
  const us = await timeEmits(
    50_000 * scale,
    (i) => {
      const span = tracer.startSpan('send order.placed', { kind: SpanKind.PRODUCER });
      const headers: Record<string, string> = {};
      propagator.inject(trace.setSpan(context.active(), span), headers, defaultTextMapSetter);
      emitter.emit('order.placed', { id: i, headers });
      span.end();
    },
    async () => {},
  );
  await provider.forceFlush();
  return {
    unit: 'us_per_emit',
    value: us,
    extra: { cpu_us_per_emit: lastCpuUsPerEmit, spans: exporter.exported },
  };
}

/**
 * The spans the hoptrace Bus records for one emit (a producer span, and per listener a consumer span that
 * is its child and links to it, each with the four messaging attributes), and nothing else: no context
 * propagation, no handler context, no metrics. What the OTel SDK alone charges for the span contract,
 * the floor under the Bus's numbers.
 */
function otelSpansOnly(sampled: boolean) {
  return async (scale: number): Promise<ModeResult> => {
    const { provider, exporter } = benchTracing(sampled);
    const tracer = provider.getTracer('spans-only');
    const attributes = (operation: string) => ({
      'messaging.system': 'hoptrace.bus',
      'messaging.destination.name': 'order.placed',
      'messaging.operation.type': operation === 'send' ? 'send' : 'process',
      'messaging.operation.name': operation,
    });
    let delivered = 0;
    const us = await timeEmits(
      50_000 * scale,
      () => {
        const producer = tracer.startSpan('send order.placed', {
          kind: SpanKind.PRODUCER,
          attributes: attributes('send'),
        });
        const parent = trace.setSpan(context.active(), producer);
        for (let i = 0; i < LISTENERS; i++) {
          tracer
            .startSpan(
              'process order.placed',
              {
                kind: SpanKind.CONSUMER,
                links: [{ context: producer.spanContext() }],
                attributes: attributes('process'),
              },
              parent,
            )
            .end();
          delivered++;
        }
        producer.end();
      },
      async () => {},
    );
    await provider.forceFlush();
    return {
      unit: 'us_per_emit',
      value: us,
      extra: {
        us_per_delivery: us / LISTENERS,
        cpu_us_per_emit: lastCpuUsPerEmit,
        delivered,
        spans: exporter.exported,
      },
    };
  };
}

/**
 * The spans the hoptrace Bus records for one emit with all their attributes (the contract's: on the producer
 * also the conversation and message IDs; on each consumer also the IDs, consumer group, attempt, publish and
 * origin times, and the outcome at the end), made with the SDK directly, the cheapest way hoptrace found (the
 * four messaging attributes at start, the rest set on the span: `attributes` at start is sanitized twice).
 * Constant IDs and times: generating them is hoptrace's work, not the SDK's. No context propagation, handler
 * context or metrics: the SDK's floor for the Bus's exact span content, next to `otel-spans-only` (4 attributes).
 */
function otelContractSpans(sampled: boolean) {
  return async (scale: number): Promise<ModeResult> => {
    const { provider, exporter } = benchTracing(sampled);
    const tracer = provider.getTracer('contract-spans');
    const messaging = (operation: 'send' | 'process') => ({
      'messaging.system': 'hoptrace.bus',
      'messaging.destination.name': 'order.placed',
      'messaging.operation.type': operation,
      'messaging.operation.name': operation,
    });
    const publishedAt = Date.now();
    let delivered = 0;
    const us = await timeEmits(
      50_000 * scale,
      () => {
        const producer = tracer.startSpan('send order.placed', {
          kind: SpanKind.PRODUCER,
          attributes: messaging('send'),
        });
        if (producer.isRecording()) {
          producer.setAttribute('messaging.message.conversation_id', FLOOR_CORRELATION_ID);
          producer.setAttribute('messaging.message.id', FLOOR_MESSAGE_ID);
        }
        const parent = trace.setSpan(context.active(), producer);
        for (let i = 0; i < LISTENERS; i++) {
          const consumer = tracer.startSpan(
            'process order.placed',
            {
              kind: SpanKind.CONSUMER,
              links: [{ context: producer.spanContext() }],
              attributes: messaging('process'),
            },
            parent,
          );
          if (consumer.isRecording()) {
            consumer.setAttribute('messaging.message.conversation_id', FLOOR_CORRELATION_ID);
            consumer.setAttribute('hoptrace.delivery.attempt', 1);
            consumer.setAttribute('hoptrace.origin_at', publishedAt);
            consumer.setAttribute('messaging.message.id', FLOOR_MESSAGE_ID);
            consumer.setAttribute('messaging.consumer.group.name', GROUPS[i] as string);
            consumer.setAttribute('hoptrace.published_at', publishedAt);
          }
          consumer.setAttribute('hoptrace.outcome', 'ack');
          consumer.end();
          delivered++;
        }
        producer.end();
      },
      async () => {},
    );
    await provider.forceFlush();
    return {
      unit: 'us_per_emit',
      value: us,
      extra: {
        us_per_delivery: us / LISTENERS,
        cpu_us_per_emit: lastCpuUsPerEmit,
        delivered,
        spans: exporter.exported,
      },
    };
  };
}

function hoptraceBus(sampled: boolean) {
  return async (scale: number): Promise<ModeResult> => {
    const { provider, exporter } = benchTracing(sampled);
    const bus = new Bus({ tracerProvider: provider, registry: createOpenMetricsRegistry() });
    let delivered = 0;
    for (let i = 0; i < LISTENERS; i++) {
      bus.subscribe('order.placed', () => void delivered++, { group: GROUPS[i], maxQueueSize: 1_000_000 });
    }
    const us = await timeEmits(
      50_000 * scale,
      (i) => bus.publish('order.placed', { id: i }).then(() => undefined),
      () => bus.drain(),
    );
    await bus.close();
    await provider.forceFlush();
    return {
      unit: 'us_per_emit',
      value: us,
      extra: {
        us_per_delivery: us / LISTENERS,
        cpu_us_per_emit: lastCpuUsPerEmit,
        delivered,
        spans: exporter.exported,
      },
    };
  };
}

workload({
  'event-emitter': eventEmitter,
  'otel-event-emitter': otelEventEmitter,
  'otel-spans-only-sampled': otelSpansOnly(true),
  'otel-spans-only-unsampled': otelSpansOnly(false),
  'otel-contract-spans-sampled': otelContractSpans(true),
  'otel-contract-spans-unsampled': otelContractSpans(false),
  'hoptrace-bus-sampled': hoptraceBus(true),
  'hoptrace-bus-unsampled': hoptraceBus(false),
});
