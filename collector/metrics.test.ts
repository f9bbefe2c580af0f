import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelLimiter } from '../instrumentation/core/label-limiter.js';
import { acceptsOpenMetrics } from '../instrumentation/core/metrics-format.js';
import { CollectorMetrics } from './metrics.js';

const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

function populated(): CollectorMetrics {
  const metrics = new CollectorMetrics({ maxLabelValues: 10 });
  metrics.spansReceived.inc({ source: 'otlp' }, 5);
  metrics.hopLatency.observe({
    labels: {
      producer_service: 'orders',
      consumer_service: 'billing',
      messaging_system: 'rabbitmq',
      messaging_destination_name: 'billing',
      messaging_consumer_group_name: 'billing',
    },
    value: 0.012,
    exemplarLabels: { trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) } as never,
  });
  return metrics;
}

describe('CollectorMetrics', () => {
  it('renders exemplars only in OpenMetrics, and counters keep _total in both formats whatever the order', async () => {
    const metrics = populated();
    const [open, text, openAgain] = await Promise.all([
      metrics.render(PROMETHEUS_ACCEPT),
      metrics.render('text/plain'),
      metrics.render('application/openmetrics-text'),
    ]);
    const textAfter = await metrics.render(undefined);
    assert.match(open.contentType, /^application\/openmetrics-text; version=1\.0\.0/);
    assert.match(open.body, /\n# EOF\n$/);
    assert.match(open.body, /^# TYPE hoptrace_collector_spans_received counter$/m);
    assert.match(open.body, /^hoptrace_collector_spans_received_total\{source="otlp"\} 5$/m);
    assert.match(
      open.body,
      /^hoptrace_hop_latency_seconds_bucket\{le="0\.025",.*\} 1 # \{trace_id="a{32}",span_id="b{16}"\} 0\.012 \d+/m,
    );
    assert.equal(openAgain.body, open.body);
    for (const prom of [text, textAfter]) {
      assert.match(prom.contentType, /^text\/plain; version=0\.0\.4/);
      assert.match(prom.body, /^# TYPE hoptrace_collector_spans_received_total counter$/m);
      assert.match(prom.body, /^hoptrace_collector_spans_received_total\{source="otlp"\} 5$/m);
      assert.match(prom.body, /^hoptrace_hop_latency_seconds_bucket\{le="0\.025",.*\} 1$/m);
      assert.doesNotMatch(prom.body, /trace_id=/);
      assert.doesNotMatch(prom.body, /# EOF/);
    }
  });

  it('negotiates the format from Accept by q-value', () => {
    assert.equal(acceptsOpenMetrics(PROMETHEUS_ACCEPT), true);
    assert.equal(acceptsOpenMetrics('text/plain;version=0.0.4'), false);
    assert.equal(acceptsOpenMetrics('text/plain;q=1,application/openmetrics-text;q=0.5'), false);
    assert.equal(acceptsOpenMetrics('*/*'), false);
    assert.equal(acceptsOpenMetrics(undefined), false);
  });

  it('bounds label values per metric and label', () => {
    const limiter = new LabelLimiter(2);
    assert.equal(limiter.bound('m', 'dest', 'a'), 'a');
    assert.equal(limiter.bound('m', 'dest', 'b'), 'b');
    assert.equal(limiter.bound('m', 'dest', 'c'), '__other__');
    assert.equal(limiter.bound('m', 'dest', 'a'), 'a');
    assert.equal(limiter.bound('other', 'dest', 'c'), 'c');
  });
});
