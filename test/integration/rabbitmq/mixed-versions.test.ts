/**
 * Mixed versions in one flow on a real RabbitMQ: 0.1 producers wrote the full header set, 0.2 writes the
 * lean set (CONTRACT.md "Headers written on every message"). Each reader must get the same trace,
 * correlation ID and ages from either. 0.1's rules are frozen in test/fixtures/previous-headers.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import type { GetMessage } from 'amqplib';
import { currentCorrelationId, withCorrelationId } from '../../../instrumentation/core/correlation.js';
import { previousHeaders, previousRead } from '../../fixtures/previous-headers.js';
import { metricValue, rabbit, spansNamed, unique, waitFor } from './helpers.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe('mixed header versions on RabbitMQ', () => {
  it('this consumer reads a 0.1 message (full set): same trace, correlation ID and ages; it forwards lean', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const queue = unique('mixed-old');
      const next = unique('mixed-old-next');
      await fx.admin.assertQueue(queue);
      await fx.admin.assertQueue(next);
      const producer = {
        traceId: hex(16),
        spanId: hex(8),
        correlationId: `old-${hex(4)}`,
        publishedAt: Date.now() - 2000,
        originAt: Date.now() - 7000, // a second hop: the flow began earlier
      };
      const ch = await fx.conn.createChannel();
      const seen: { correlationId?: string; baggage?: string }[] = [];
      await ch.consume(queue, (msg) => {
        if (!msg) return;
        seen.push({
          correlationId: currentCorrelationId(),
          baggage: propagation.getBaggage(context.active())?.getEntry('correlation.id')?.value,
        });
        ch.sendToQueue(next, Buffer.from('hop 2'));
        ch.ack(msg);
      });
      fx.admin.sendToQueue(queue, Buffer.from('from 0.1'), {
        headers: previousHeaders(producer, false),
        messageId: hex(8),
        timestamp: Math.floor(producer.publishedAt / 1000),
      });
      await waitFor(
        () => spansNamed(fx.tracing.spans(), `process ${queue}`).length === 1,
        'the process span',
      );
      const [span] = spansNamed(fx.tracing.spans(), `process ${queue}`);
      assert.equal(span?.spanContext().traceId, producer.traceId);
      assert.equal(span?.parentSpanContext?.spanId, producer.spanId);
      assert.equal(span?.attributes['messaging.message.conversation_id'], producer.correlationId);
      assert.equal(span?.attributes['hoptrace.published_at'], producer.publishedAt);
      assert.equal(span?.attributes['hoptrace.origin_at'], producer.originAt);
      assert.deepEqual(seen, [{ correlationId: producer.correlationId, baggage: producer.correlationId }]);
      assert.equal(await metricValue(fx.registry, 'hoptrace_invalid_context_total'), 0);

      // The forwarded hop is lean and a 0.1 reader still gets the flow's trace, ID and origin from it.
      let forwarded: GetMessage | false = false;
      await waitFor(async () => {
        forwarded = await fx.admin.get(next, { noAck: true });
        return forwarded !== false;
      }, 'the forwarded message');
      const headers = (forwarded as unknown as GetMessage).properties.headers ?? {};
      assert.equal(headers.baggage, undefined);
      const read = previousRead(headers);
      assert.equal(read.traceId, producer.traceId);
      assert.equal(read.correlationId, producer.correlationId);
      assert.equal(read.originAt, producer.originAt);
      assert.ok((read.publishedAt ?? 0) >= producer.publishedAt);
      await ch.close();
    } finally {
      await fx.close();
    }
  });

  it('a 0.1 reader and this reader get the same trace, correlation ID and ages from lean messages (two hops)', async (t) => {
    const fx = await rabbit(t);
    if (!fx) return;
    try {
      const first = unique('mixed-new');
      const second = unique('mixed-new-next');
      await fx.admin.assertQueue(first);
      await fx.admin.assertQueue(second);
      const ch = await fx.conn.createChannel();
      const rawHeaders: Record<string, unknown>[] = [];
      await ch.consume(first, (msg) => {
        if (!msg) return;
        rawHeaders.push({ ...msg.properties.headers });
        ch.sendToQueue(second, Buffer.from('hop 2'));
        ch.ack(msg);
      });
      await ch.consume(second, (msg) => {
        if (!msg) return;
        rawHeaders.push({ ...msg.properties.headers });
        ch.ack(msg);
      });
      const pub = await fx.conn.createConfirmChannel();
      const correlationId = `new-${hex(4)}`;
      withCorrelationId(correlationId, () => pub.sendToQueue(first, Buffer.from('from 0.2')));
      await pub.waitForConfirms();
      await waitFor(() => spansNamed(fx.tracing.spans(), `process ${second}`).length === 1, 'both hops');
      const spans = fx.tracing.spans();
      const [producer] = spansNamed(spans, 'publish amq.default').filter((s) => !s.parentSpanContext);
      const hop1 = spansNamed(spans, `process ${first}`)[0];
      const hop2 = spansNamed(spans, `process ${second}`)[0];
      assert.ok(producer && hop1 && hop2);

      // On the wire: the lean set.
      assert.deepEqual(Object.keys(rawHeaders[0] ?? {}).sort(), [
        'traceparent',
        'x-correlation-id',
        'x-hoptrace-published-at',
      ]);
      assert.deepEqual(Object.keys(rawHeaders[1] ?? {}).sort(), [
        'traceparent',
        'x-correlation-id',
        'x-hoptrace-origin-at',
        'x-hoptrace-published-at',
      ]);
      for (const [i, span] of [hop1, hop2].entries()) {
        const old = previousRead(rawHeaders[i] ?? {});
        assert.equal(old.traceId, producer.spanContext().traceId);
        assert.equal(span.spanContext().traceId, old.traceId);
        assert.equal(span.parentSpanContext?.spanId, old.parentSpanId);
        assert.equal(old.correlationId, correlationId);
        assert.equal(span.attributes['messaging.message.conversation_id'], correlationId);
        assert.equal(span.attributes['hoptrace.published_at'], old.publishedAt);
        assert.equal(span.attributes['hoptrace.origin_at'], old.originAt);
      }
      // The flow's age runs from the first publish on both hops.
      assert.equal(hop2.attributes['hoptrace.origin_at'], hop1.attributes['hoptrace.published_at']);
      assert.equal(trace.getActiveSpan(), undefined);
      await ch.close();
      await pub.close();
    } finally {
      await fx.close();
    }
  });
});
