import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type SpanContext, TraceFlags } from '@opentelemetry/api';
import { Counter, Registry } from 'prom-client';
import { createOpenMetricsRegistry, getMessagingMetrics } from './metrics.js';
import { openMetricsToPrometheus, renderMetrics } from './metrics-format.js';

const sampled: SpanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
};
const unsampled: SpanContext = { ...sampled, spanId: 'c7ad6b7169203332', traceFlags: TraceFlags.NONE };

describe('messaging metrics', () => {
  it('records exact values and renders both formats, exemplars only in OpenMetrics', async () => {
    const registry = createOpenMetricsRegistry();
    const metrics = getMessagingMetrics(registry);
    const producer = metrics.producer('rabbitmq', 'orders', 'publish');
    producer.sent();
    producer.sent();
    producer.sent('ECONNRESET');
    const consumer = metrics.consumer('rabbitmq', 'billing', undefined);
    consumer.started(0.5, 2, sampled);
    consumer.finished('ack', 0.02, '', sampled);
    consumer.started(0.1, 0.1, unsampled);
    consumer.finished('reject', 0.01, 'TypeError', unsampled);

    const om = await renderMetrics(registry, 'application/openmetrics-text;version=1.0.0,text/plain;q=0.5');
    assert.match(om.contentType, /openmetrics/);
    assert.match(
      om.body,
      /messaging_client_sent_messages_total\{messaging_system="rabbitmq",messaging_destination_name="orders",messaging_operation_name="publish",error_type=""\} 2/,
    );
    assert.match(om.body, /error_type="ECONNRESET"\} 1/);
    assert.match(
      om.body,
      /# \{trace_id="0af7651916cd43dd8448eb211c80319c",span_id="b7ad6b7169203331"\} 0\.02/,
    );
    assert.doesNotMatch(om.body, /c7ad6b7169203332/, 'no exemplar for an unsampled span');
    assert.match(om.body, /hoptrace_in_flight_messages\{[^}]*messaging_destination_name="billing"[^}]*\} 0/);
    assert.ok(om.body.endsWith('# EOF\n'));

    const prom = await renderMetrics(registry, 'text/plain');
    assert.match(prom.contentType, /text\/plain/);
    assert.match(prom.body, /# TYPE messaging_client_sent_messages_total counter/);
    assert.match(prom.body, /# HELP messaging_client_sent_messages_total /);
    assert.doesNotMatch(prom.body, /trace_id=/);
    assert.doesNotMatch(prom.body, /# EOF/);
    assert.match(prom.body, /messaging_client_consumed_messages_total\{[^}]*hoptrace_outcome="reject"\} 1/);
  });

  it('bounds destination labels: the 201st distinct destination becomes __other__', async () => {
    const registry = createOpenMetricsRegistry();
    const metrics = getMessagingMetrics(registry);
    for (let i = 0; i < 250; i++) metrics.producer('kafka', `topic-${i}`, 'send').sent();
    const values =
      (await registry.getSingleMetric('messaging_client_sent_messages_total')?.get())?.values ?? [];
    const destinations = new Set(values.map((v) => v.labels.messaging_destination_name));
    assert.equal(destinations.size, 201);
    assert.equal(values.find((v) => v.labels.messaging_destination_name === '__other__')?.value, 50);
  });

  it('keeps series apart when outcomes, errors and operations alternate (the memoized paths)', async () => {
    const registry = createOpenMetricsRegistry();
    const metrics = getMessagingMetrics(registry);
    const consumer = metrics.consumer('kafka', 't', 'g');
    const sequence: [string, string][] = [
      ['ack', ''],
      ['ack', ''],
      ['ack', 'TypeError'],
      ['retry', ''],
      ['ack', ''],
      ['retry', ''],
      ['retry', 'TypeError'],
    ];
    for (const [outcome, error] of sequence) {
      consumer.started(0, 0);
      consumer.finished(outcome as 'ack', 0.001, error);
    }
    const producer = metrics.producer('kafka', 't', 'send');
    producer.sent();
    producer.sent('ECONNRESET');
    producer.sent();
    producer.operation('send', 0.001);
    producer.operation('flush', 0.001);
    producer.operation('send', 0.001, 'ECONNRESET');
    producer.operation('send', 0.001);
    // The same destination through a second lookup: the same series, not a new one.
    assert.equal(metrics.consumer('kafka', 't', 'g'), consumer);
    assert.equal(metrics.producer('kafka', 't', 'send'), producer);

    const consumed = (await registry.getSingleMetric('messaging_client_consumed_messages_total')?.get())
      ?.values;
    const count = (outcome: string, error: string) =>
      consumed?.find((v) => v.labels.hoptrace_outcome === outcome && v.labels.error_type === error)?.value;
    assert.equal(count('ack', ''), 3);
    assert.equal(count('ack', 'TypeError'), 1);
    assert.equal(count('retry', ''), 2);
    assert.equal(count('retry', 'TypeError'), 1);
    const sent = (await registry.getSingleMetric('messaging_client_sent_messages_total')?.get())?.values;
    assert.equal(sent?.find((v) => v.labels.error_type === '')?.value, 2);
    assert.equal(sent?.find((v) => v.labels.error_type === 'ECONNRESET')?.value, 1);
    const durations = (await registry.getSingleMetric('messaging_client_operation_duration_seconds')?.get())
      ?.values;
    const durationCount = (operation: string, error: string) =>
      durations?.find(
        (v) =>
          (v as { metricName?: string }).metricName?.endsWith('_count') &&
          v.labels.messaging_operation_name === operation &&
          v.labels.error_type === error,
      )?.value;
    assert.equal(durationCount('send', ''), 2);
    assert.equal(durationCount('flush', ''), 1);
    assert.equal(durationCount('send', 'ECONNRESET'), 1);
  });

  it('bounds destinations after the limit is reached through the cached lookups too', async () => {
    const registry = createOpenMetricsRegistry();
    const metrics = getMessagingMetrics(registry, 2);
    for (let round = 0; round < 2; round++)
      for (const topic of ['a', 'b', 'c', 'd']) metrics.consumer('kafka', topic, 'g').redelivered();
    const values = (await registry.getSingleMetric('hoptrace_redeliveries_total')?.get())?.values ?? [];
    const byDestination = Object.fromEntries(
      values.map((v) => [v.labels.messaging_destination_name, v.value]),
    );
    assert.deepEqual(byDestination, { a: 2, b: 2, __other__: 4 });
  });

  it('works without exemplars on a Prometheus-format registry', async () => {
    const registry = new Registry();
    const consumer = getMessagingMetrics(registry).consumer('kafka', 't', 'g');
    consumer.started(1, 1, sampled);
    consumer.finished('ack', 0.1, '', sampled);
    const { body } = await renderMetrics(registry, 'application/openmetrics-text');
    assert.match(body, /messaging_process_duration_seconds_count\{[^}]*\} 1/);
    assert.doesNotMatch(body, /trace_id/);
  });

  it('records nothing into a metric name the user already registered, and does not throw', async () => {
    const registry = createOpenMetricsRegistry();
    const theirs = new Counter({
      name: 'messaging_client_sent_messages_total',
      help: 'theirs',
      registers: [registry],
    });
    const producer = getMessagingMetrics(registry).producer('kafka', 't', 'send');
    assert.doesNotThrow(() => producer.sent());
    assert.equal((await theirs.get()).values[0]?.value ?? 0, 0);
  });
});

describe('OpenMetrics to Prometheus text', () => {
  it('keeps "#" inside quoted label values and strips exemplars', () => {
    const om = [
      '# HELP x_total help',
      '# TYPE x counter',
      'x_total{a="has # {inside} ok"} 3 # {trace_id="t"} 1 1700000000.000',
      '# EOF',
      '',
    ].join('\n');
    assert.equal(
      openMetricsToPrometheus(om),
      ['# HELP x_total help', '# TYPE x_total counter', 'x_total{a="has # {inside} ok"} 3', ''].join('\n'),
    );
  });
});
