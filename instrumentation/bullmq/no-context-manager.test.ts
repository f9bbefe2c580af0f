/**
 * BullMQTelemetry in a process without an OpenTelemetry context manager (this file's process registers
 * none): outcomes and metrics still belong to the right attempt, found by queue and job ID.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { interleavedAttempts, outcomesByJob } from '../../test/helpers/bullmq-trace.js';
import { metricValue } from '../../test/helpers/metrics.js';
import { METRIC_CONSUMED_MESSAGES } from '../core/semconv.js';
import { BullMQTelemetry } from './telemetry.js';

describe('BullMQTelemetry without a context manager', () => {
  it('this process has no context manager', () => {
    const marked = ROOT_CONTEXT.setValue(Symbol('x'), 1);
    assert.equal(
      context.with(marked, () => context.active()),
      ROOT_CONTEXT,
    );
  });

  for (const wrap of [true, false]) {
    it(`concurrent attempts each get their own outcome (${wrap ? 'processor()' : 'option only'})`, async () => {
      const exporter = new InMemorySpanExporter();
      const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
      const registry = new Registry();
      const telemetry = new BullMQTelemetry({ tracerProvider: provider, registry });
      await interleavedAttempts(telemetry, wrap);
      assert.deepEqual(outcomesByJob(exporter.getFinishedSpans()), ['a/1 ack', 'a/2 ack', 'b/1 retry']);
      assert.equal(
        await metricValue(registry, METRIC_CONSUMED_MESSAGES, {
          messaging_destination_name: 'b',
          hoptrace_outcome: 'retry',
        }),
        1,
      );
      assert.equal(
        await metricValue(registry, METRIC_CONSUMED_MESSAGES, {
          messaging_destination_name: 'a',
          hoptrace_outcome: 'ack',
        }),
        2,
      );
    });
  }
});
