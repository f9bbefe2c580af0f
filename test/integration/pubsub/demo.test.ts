import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { runPubSubDemo } from '../../../cli/demo/pubsub.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { createTestTracing } from '../../helpers/tracing.js';
import { emulatorHost, metricValue, requirePubSub } from './helpers.js';

describe('hoptrace demo --broker pubsub', () => {
  it('fans each order out to three services and dead-letters the bouncing one in its own trace', async (t) => {
    if (!(await requirePubSub(t))) return;
    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const result = await runPubSubDemo({
      emulatorHost: emulatorHost(),
      orders: 3,
      tracerProvider: tracing.provider,
      registry,
    });
    assert.deepEqual(result.handled, { billing: 3, inventory: 3, email: 2, 'dlq-audit': 1 });
    const bounced = result.correlationIds[2]!;
    assert.deepEqual([...result.deadLetters.keys()], [bounced]);
    assert.equal(
      await metricValue(registry, 'hoptrace_dead_lettered_messages_total', { reason: 'delivery_limit' }),
      1,
    );

    const spans = tracing.spans();
    const send = spans.find(
      (s) => s.kind === SpanKind.PRODUCER && s.attributes['messaging.message.conversation_id'] === bounced,
    )!;
    const ofOrder = spans.filter(
      (s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.message.conversation_id'] === bounced,
    );
    const services = new Set(ofOrder.map((s) => s.attributes['hoptrace.service.name']));
    assert.deepEqual([...services].sort(), ['billing', 'dlq-audit', 'email', 'inventory']);
    for (const span of ofOrder) assert.equal(span.spanContext().traceId, send.spanContext().traceId);
    const email = ofOrder.filter((s) => s.attributes['hoptrace.service.name'] === 'email');
    assert.equal(email.at(-1)?.attributes['hoptrace.outcome'], 'dead_letter');
  });
});
