import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runKafkaDemo } from '../../../cli/demo/kafka.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { createTestTracing } from '../../helpers/tracing.js';
import { brokers, metricSum, requireKafka } from './kafka-helpers.js';

describe('examples/kafka demo', () => {
  it('two groups, one failing into the DLQ topic; dead letters stay in their order trace', async (t) => {
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
    assert.deepEqual(summary.processed, { billing: 8, fraudCheck: 6 });
    const expectedDead = [summary.correlationIds[3], summary.correlationIds[7]].sort();
    assert.deepEqual(summary.deadLettered, expectedDead);
    assert.deepEqual(
      summary.lag.map((g) => [g.group, g.totalLag]).sort(),
      Object.values(summary.groups)
        .map((g) => [g, 0])
        .sort(),
    );
    assert.equal(
      await metricSum(registry, 'hoptrace_dead_lettered_messages_total', {
        messaging_consumer_group_name: summary.groups.fraudCheck,
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
