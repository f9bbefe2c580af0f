import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { createTestTracing, spanByName } from '../../test/helpers/tracing.js';
import { startDelivery } from './delivery.js';
import { createInstrumentation } from './instrumentation.js';
import { createOpenMetricsRegistry } from './metrics.js';
import { startPublish } from './publish.js';
import type { InstrumentationOptions } from './types.js';

function captureDiag(): { messages: string[]; restore: () => void } {
  const messages: string[] = [];
  const record = (...args: unknown[]) => void messages.push(args.map(String).join(' '));
  const logger: DiagLogger = { error: record, warn: record, info: record, debug: record, verbose: record };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  return { messages, restore: () => diag.disable() };
}

describe('options', () => {
  it('warns about bad options, uses defaults, and never mutates the caller object', () => {
    const log = captureDiag();
    try {
      const options = {
        linkMode: 'sideways',
        correlationHeader: 'bad header\n',
        maxDestinations: -1,
        captureHeaders: 'x-tenant',
        hooks: { publishHook: 'not a function' },
      } as unknown as InstrumentationOptions;
      const frozen = structuredClone(options);
      const instr = createInstrumentation('options-test', 'kafka', options);
      assert.equal(instr.linkMode, 'parent');
      assert.equal(instr.correlationHeader, 'x-correlation-id');
      assert.deepEqual(instr.captureHeaders, []);
      assert.equal(instr.hooks.publishHook, undefined);
      assert.deepEqual(options, frozen);
      for (const name of [
        'linkMode',
        'correlationHeader',
        'maxDestinations',
        'captureHeaders',
        'hooks.publishHook',
      ]) {
        assert.ok(
          log.messages.some((m) => m.includes(`option ${name} is invalid`)),
          `warned about ${name}: ${log.messages}`,
        );
      }
    } finally {
      log.restore();
    }
  });
});

describe('hooks', () => {
  it('throwing hooks are logged and ignored: the message flow is unaffected', async () => {
    const log = captureDiag();
    try {
      const tracing = createTestTracing();
      const calls: string[] = [];
      const instr = createInstrumentation('hook-test', 'hoptrace.bus', {
        tracerProvider: tracing.provider,
        registry: createOpenMetricsRegistry(),
        hooks: {
          publishHook: () => {
            calls.push('publish');
            throw new Error('publish hook bug');
          },
          consumeHook: () => {
            calls.push('consume');
            throw new Error('consume hook bug');
          },
          settleHook: () => {
            calls.push('settle');
            throw new Error('settle hook bug');
          },
        },
      });
      const callerHeaders = Object.freeze({ a: '1' });
      const publish = startPublish(instr, {
        destination: 'd',
        operationName: 'send',
        headers: callerHeaders,
        message: 'm',
      });
      publish.end();
      assert.deepEqual(callerHeaders, { a: '1' }, 'caller headers untouched');
      assert.equal(publish.headers.a, '1');
      const delivery = startDelivery(instr, { destination: 'd', headers: publish.headers, message: 'm' });
      const result = await delivery.run(async () => 'handler result');
      delivery.settle('ack');
      assert.equal(result, 'handler result');
      assert.deepEqual(calls, ['publish', 'consume', 'settle']);
      const consumer = spanByName(tracing.spans(), 'process d');
      assert.equal(consumer.attributes['hoptrace.outcome'], 'ack');
      assert.ok(log.messages.some((m) => m.includes('publishHook failed')));
      assert.ok(log.messages.some((m) => m.includes('settleHook failed')));
    } finally {
      log.restore();
    }
  });
});

describe('delivery lifecycle', () => {
  it('waits for a settle after the handler, then ends the span; a forgotten settle times out as unsettled', async () => {
    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const instr = createInstrumentation('lifecycle-test', 'rabbitmq', {
      tracerProvider: tracing.provider,
      registry,
    });
    const late = startDelivery(instr, { destination: 'late', headers: {}, message: null });
    late.run(() => undefined);
    assert.equal(tracing.spans().length, 0, 'open until settled');
    await new Promise((r) => setTimeout(r, 5));
    late.settle('ack');
    assert.equal(spanByName(tracing.spans(), 'process late').attributes['hoptrace.outcome'], 'ack');

    const forgotten = startDelivery(instr, {
      destination: 'forgotten',
      headers: {},
      message: null,
      settleTimeoutMs: 10,
    });
    forgotten.run(() => undefined);
    await new Promise((r) => setTimeout(r, 30));
    const span = spanByName(tracing.spans(), 'process forgotten');
    assert.equal(span.attributes['hoptrace.unsettled'], true);
    assert.equal(span.attributes['hoptrace.outcome'], undefined);

    const abandoned = startDelivery(instr, { destination: 'closed', headers: {}, message: null });
    abandoned.abandon('channel closed');
    abandoned.settle('ack'); // ignored: first call wins
    const closed = spanByName(tracing.spans(), 'process closed');
    assert.equal(closed.attributes['hoptrace.unsettled'], true);
    assert.equal(closed.status.code, 0, 'not an error');
    const inFlight = (await registry.getSingleMetric('hoptrace_in_flight_messages')?.get())?.values ?? [];
    assert.ok(
      inFlight.every((v) => v.value === (v.labels.messaging_destination_name === 'forgotten' ? 1 : 0)),
    );
  });

  it('counts each invalid header once in hoptrace_invalid_context_total and starts a new trace', async () => {
    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const instr = createInstrumentation('invalid-test', 'kafka', {
      tracerProvider: tracing.provider,
      registry,
    });
    const delivery = startDelivery(instr, {
      destination: 't',
      headers: { traceparent: 'garbage', 'x-correlation-id': 'x'.repeat(10_000) },
      message: null,
    });
    delivery.run(() => undefined);
    delivery.settle('ack');
    const span = spanByName(tracing.spans(), 'process t');
    assert.equal(span.parentSpanContext, undefined);
    assert.equal(span.links.length, 0);
    assert.match(String(span.attributes['messaging.message.conversation_id']), /^[0-9a-f-]{36}$/);
    const values = (await registry.getSingleMetric('hoptrace_invalid_context_total')?.get())?.values ?? [];
    assert.deepEqual(values.map((v) => [v.labels.reason, v.value]).sort(), [
      ['correlation_id_invalid', 1],
      ['traceparent_malformed', 1],
    ]);
  });
});
