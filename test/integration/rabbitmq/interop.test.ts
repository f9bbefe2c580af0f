import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { SpanKind } from '@opentelemetry/api';
import { instrumentAmqp } from '../../../instrumentation/amqp/index.js';
import { amqplibVersion, loadAmqplib } from './amqplib-versions.js';
import { amqpUrl, metricValue, rabbit, spansNamed, unique, waitFor } from './helpers.js';

const run = promisify(execFile);
const peer = join(import.meta.dirname, 'fixtures', 'otel-peer.js');

interface PeerSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

async function otelPeer(mode: 'produce' | 'consume', queue: string, moduleName: string) {
  const { stdout } = await run(process.execPath, [peer, mode, amqpUrl(), queue, moduleName], {
    timeout: 20_000,
  });
  return JSON.parse(stdout) as { amqplibVersion: string; spans: PeerSpan[] };
}

// The contrib instrumentation finds amqplib by its package name, so it cannot patch an aliased install
// (`amqplib-0.10`): interop is proven on the installed amqplib, which its range (>=0.5.5 <3) covers.
for (const moduleName of ['amqplib'] as const) {
  describe(`interop with @opentelemetry/instrumentation-amqplib on amqplib ${amqplibVersion(moduleName)}`, () => {
    it('its producer and our consumer share one trace', async (t) => {
      const fx = await rabbit(t);
      if (!fx) return;
      const conn = instrumentAmqp(await loadAmqplib(moduleName).connect(amqpUrl()), {
        tracerProvider: fx.tracing.provider,
        registry: fx.registry,
      });
      try {
        const queue = unique('interop-in');
        const ch = await conn.createChannel();
        await ch.assertQueue(queue, { autoDelete: false });
        await ch.consume(queue, (msg) => msg && ch.ack(msg));

        const produced = await otelPeer('produce', queue, moduleName);
        assert.equal(produced.amqplibVersion, amqplibVersion(moduleName));
        const [theirProducer] = produced.spans.filter((s) => s.kind === SpanKind.PRODUCER);
        assert.ok(
          theirProducer,
          `the contrib instrumentation traced the publish: ${JSON.stringify(produced)}`,
        );

        await waitFor(
          () => spansNamed(fx.tracing.spans(), `process ${queue}`).length === 1,
          'our consumer span',
        );
        const [ours] = spansNamed(fx.tracing.spans(), `process ${queue}`);
        assert.equal(ours?.spanContext().traceId, theirProducer.traceId);
        assert.equal(ours?.parentSpanContext?.spanId, theirProducer.spanId);
        assert.equal(ours?.attributes['hoptrace.outcome'], 'ack');
        // No hoptrace headers on their message: a correlation ID is started here, nothing counted invalid.
        assert.equal(typeof ours?.attributes['messaging.message.conversation_id'], 'string');
        assert.equal(await metricValue(fx.registry, 'hoptrace_invalid_context_total'), 0);
      } finally {
        await conn.close();
        await fx.close();
      }
    });

    it('our producer and its consumer share one trace', async (t) => {
      const fx = await rabbit(t);
      if (!fx) return;
      const conn = instrumentAmqp(await loadAmqplib(moduleName).connect(amqpUrl()), {
        tracerProvider: fx.tracing.provider,
        registry: fx.registry,
      });
      try {
        const queue = unique('interop-out');
        const ch = await conn.createConfirmChannel();
        await ch.assertQueue(queue, { autoDelete: false });
        ch.sendToQueue(queue, Buffer.from('from hoptrace'));
        await ch.waitForConfirms();
        const [ourProducer] = spansNamed(fx.tracing.spans(), 'publish amq.default');
        assert.ok(ourProducer);

        const consumed = await otelPeer('consume', queue, moduleName);
        const [theirConsumer] = consumed.spans.filter((s) => s.kind === SpanKind.CONSUMER);
        assert.ok(
          theirConsumer,
          `the contrib instrumentation traced the delivery: ${JSON.stringify(consumed)}`,
        );
        assert.equal(theirConsumer.traceId, ourProducer.spanContext().traceId);
        assert.equal(theirConsumer.parentSpanId, ourProducer.spanContext().spanId);
      } finally {
        await conn.close();
        await fx.close();
      }
    });
  });
}
