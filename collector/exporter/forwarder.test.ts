import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { METRIC_COLLECTOR_SPANS_DROPPED } from '../../instrumentation/core/semconv.js';
import { metricSum, otlpProtobuf, processSpan, publishSpan } from '../../test/helpers/collector.js';
import { startTestReceiver } from '../../test/helpers/otlp-receiver.js';
import { DEFAULT_FORWARD } from '../config.js';
import { CollectorMetrics } from '../metrics.js';
import { recordsToResourceSpans } from '../otlp/records.js';
import { startCollector } from '../start.js';
import { Forwarder } from './forwarder.js';

const FAST = {
  ...DEFAULT_FORWARD,
  flushIntervalMs: 20,
  initialBackoffMs: 10,
  maxBackoffMs: 50,
  timeoutMs: 2_000,
};

function spans(n: number) {
  return Array.from({ length: n }, (_, i) =>
    publishSpan({ service: 'orders', destination: 'orders', at: i }),
  );
}

describe('Forwarder', () => {
  it('forwards original and synthetic spans; synthetic ones sit under the producer span', async () => {
    const receiver = await startTestReceiver();
    const collector = await startCollector({
      port: 0,
      forwardOtlpUrl: receiver.url,
      forward: { flushIntervalMs: 20 },
    });
    try {
      const pub = publishSpan({ service: 'orders', destination: 'orders', correlationId: 'fw-1', at: 0 });
      const linked = processSpan(pub, {
        service: 'billing',
        destination: 'billing',
        group: 'billing',
        mode: 'link',
        outcome: 'ack',
        at: 5,
      });
      const child = processSpan(pub, {
        service: 'audit',
        destination: 'audit',
        group: 'audit',
        outcome: 'ack',
        at: 6,
      });
      const response = await fetch(`${collector.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: otlpProtobuf([linked, child, pub]),
      });
      assert.equal(response.status, 200);
      const got = await receiver.waitForSpans(4);
      const synthetic = got.filter((s) => s.attributes['hoptrace.synthetic'] === true);
      assert.equal(synthetic.length, 1, 'only the link-mode delivery needs one');
      assert.equal(synthetic[0].traceId, pub.traceId);
      assert.equal(synthetic[0].parentSpanId, pub.spanId);
      assert.equal(synthetic[0].serviceName, 'billing');
      assert.equal(synthetic[0].name, 'deliver billing');
      assert.deepEqual(
        synthetic[0].links.map((l) => l.spanId),
        [linked.spanId],
      );
      assert.deepEqual(
        got
          .filter((s) => s.attributes['hoptrace.synthetic'] !== true)
          .map((s) => s.spanId)
          .sort(),
        [pub.spanId, linked.spanId, child.spanId].sort(),
        'originals arrive unchanged',
      );
      const original = got.find((s) => s.spanId === linked.spanId);
      assert.deepEqual(original?.attributes, linked.attributes);
      assert.equal(original?.startTimeUnixNano, linked.startTimeUnixNano);
    } finally {
      await collector.close();
      await receiver.close();
    }
  });

  it('retries 503 and network errors with backoff, then delivers without drops', async () => {
    const receiver = await startTestReceiver();
    receiver.script = [{ status: 503, headers: { 'retry-after': '0' } }, { status: 502 }];
    const metrics = new CollectorMetrics({ maxLabelValues: 10 });
    const forwarder = new Forwarder(new URL(receiver.url), FAST, metrics);
    forwarder.enqueue(recordsToResourceSpans(spans(3)));
    await forwarder.flush();
    assert.equal(receiver.spans.length, 3);
    assert.equal(receiver.requests, 3);
    assert.equal(await metricSum(metrics, METRIC_COLLECTOR_SPANS_DROPPED), 0);
    await forwarder.close();
    await receiver.close();
  });

  it('drops and counts refused batches, exhausted retries and a full queue', async () => {
    const receiver = await startTestReceiver();
    const metrics = new CollectorMetrics({ maxLabelValues: 10 });
    const forwarder = new Forwarder(
      new URL(receiver.url),
      { ...FAST, maxAttempts: 2, maxQueueSpans: 4, maxBatchSpans: 4 },
      metrics,
    );

    receiver.script = [{ status: 400 }];
    forwarder.enqueue(recordsToResourceSpans(spans(2)));
    await forwarder.flush();
    assert.equal(await metricSum(metrics, METRIC_COLLECTOR_SPANS_DROPPED, { reason: 'forward_rejected' }), 2);

    receiver.script = [{ status: 503 }, { status: 503 }];
    forwarder.enqueue(recordsToResourceSpans(spans(3)));
    await forwarder.flush();
    assert.equal(await metricSum(metrics, METRIC_COLLECTOR_SPANS_DROPPED, { reason: 'forward_failed' }), 3);

    receiver.script = [{ status: 200, delayMs: 200 }];
    forwarder.enqueue(recordsToResourceSpans(spans(4))); // sent at once, answered slowly
    forwarder.enqueue(recordsToResourceSpans(spans(4))); // fills the queue
    forwarder.enqueue(recordsToResourceSpans(spans(2))); // no room
    assert.equal(
      await metricSum(metrics, METRIC_COLLECTOR_SPANS_DROPPED, { reason: 'forward_queue_full' }),
      2,
    );
    await forwarder.flush();
    assert.equal(receiver.spans.length, 8);
    await forwarder.close();
    await receiver.close();
  });

  it('bounds the queue in bytes too: large spans are dropped and counted before memory fills', async () => {
    const receiver = await startTestReceiver();
    const metrics = new CollectorMetrics({ maxLabelValues: 10 });
    const forwarder = new Forwarder(
      new URL(receiver.url),
      { ...FAST, flushIntervalMs: 60_000, maxQueueBytes: 10_000 },
      metrics,
    );
    forwarder.enqueue(recordsToResourceSpans(spans(2)), 6_000); // 6 000 bytes queued
    forwarder.enqueue(recordsToResourceSpans(spans(1)), 5_000); // over 10 000: dropped
    forwarder.enqueue(recordsToResourceSpans(spans(1)), 4_000); // fits exactly
    assert.equal(forwarder.pendingSpans, 3);
    assert.equal(
      await metricSum(metrics, METRIC_COLLECTOR_SPANS_DROPPED, { reason: 'forward_queue_full' }),
      1,
    );
    await forwarder.close();
    assert.equal(receiver.spans.length, 3);
    await receiver.close();
  });

  it('flushes queued spans on close', async () => {
    const receiver = await startTestReceiver();
    const metrics = new CollectorMetrics({ maxLabelValues: 10 });
    const forwarder = new Forwarder(new URL(receiver.url), { ...FAST, flushIntervalMs: 60_000 }, metrics);
    forwarder.enqueue(recordsToResourceSpans(spans(5)));
    await forwarder.close();
    assert.equal(receiver.spans.length, 5);
    await receiver.close();
  });
});
