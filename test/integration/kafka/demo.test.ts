import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runKafkaDemo } from '../../../cli/demo/kafka.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { createTestTracing } from '../../helpers/tracing.js';
import { brokers, metricSum, requireKafka } from './kafka-helpers.js';

describe('examples/kafka demo', () => {
  it('six services, email failing into the DLQ topic; dead letters stay in their order trace', async (t) => {
    if (!(await requireKafka(t))) return;
    const tracing = createTestTracing();
    const registry = createOpenMetricsRegistry();
    const summary = await runKafkaDemo({
      brokers: brokers(),
      messages: 8,
      tracerProvider: tracing.provider,
      registry,
    });

    assert.equal(summary.produced, 8);
    assert.deepEqual(summary.processed, { billing: 8, inventory: 8, email: 6, shipping: 8, 'dlq-audit': 2 });
    const expectedDead = [summary.correlationIds[2], summary.correlationIds[5]].sort();
    assert.deepEqual(summary.deadLettered, expectedDead);
    assert.deepEqual(
      summary.lag.map((g) => [g.group, g.totalLag]).sort(),
      Object.values(summary.groups)
        .map((g) => [g, 0])
        .sort(),
    );
    assert.equal(
      await metricSum(registry, 'hoptrace_dead_lettered_messages_total', {
        messaging_consumer_group_name: summary.groups.email,
        reason: 'max_attempts',
      }),
      2,
    );
    for (const correlationId of expectedDead) {
      const send = tracing
        .spans()
        .find(
          (s) =>
            s.name === `send ${summary.topic}` &&
            s.attributes['messaging.message.conversation_id'] === correlationId,
        );
      assert.ok(send);
      const review = tracing
        .spans()
        .find(
          (s) =>
            s.name === `process ${summary.deadLetterTopic}` &&
            s.attributes['messaging.message.conversation_id'] === correlationId,
        );
      assert.equal(review?.spanContext().traceId, send.spanContext().traceId);
    }
  });
});
