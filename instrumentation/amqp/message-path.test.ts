/**
 * The per-message path of an instrumented channel on a fake amqplib channel (no broker): span attributes
 * of a publish and of a delivery from a temporary queue, and no attribute work for unsampled messages.
 * The real-broker behaviour is in test/integration/rabbitmq.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlwaysOffSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { createTestTracing, spanByName } from '../../test/helpers/tracing.js';
import { createOpenMetricsRegistry } from '../core/metrics.js';
import { instrumentAmqp } from './instrument.js';
import type { AmqpMessage, AmqpPublishOptions } from './types.js';

type Handler = (message: AmqpMessage | null) => unknown;

/** A channel that keeps the last publish and hands it to the consumer on `deliver()`. */
function fakeChannel() {
  const handlers = new Map<string, Handler>();
  let sent: { routingKey: string; content: Buffer; options: AmqpPublishOptions } | undefined;
  let tag = 0;
  const acked: number[] = [];
  const raw = {
    publish(_exchange: string, routingKey: string, content: Buffer, options: AmqpPublishOptions = {}) {
      sent = { routingKey, content, options };
      return true;
    },
    sendToQueue(queue: string, content: Buffer, options?: AmqpPublishOptions) {
      return raw.publish('', queue, content, options);
    },
    consume(queue: string, h: Handler) {
      handlers.set(queue, h);
      return Promise.resolve({ consumerTag: 'c' });
    },
    ack(message: AmqpMessage) {
      acked.push(message.fields.deliveryTag);
    },
    nack() {},
    reject() {},
    on() {
      return raw;
    },
  };
  /** Delivers the last publish to the consumer of its routing key (the default exchange's rule). */
  const deliver = (content: Buffer): unknown => {
    const handler = sent && handlers.get(sent.routingKey);
    if (!handler || !sent) throw new Error('nothing to deliver');
    const message: AmqpMessage = {
      content,
      fields: { deliveryTag: ++tag, redelivered: false, exchange: '', routingKey: sent.routingKey },
      properties: {
        headers: { ...sent.options.headers },
        messageId: sent.options.messageId,
        timestamp: sent.options.timestamp,
      },
    };
    return handler(message);
  };
  return { raw, deliver, acked, sent: () => sent };
}

/** A Buffer whose `byteLength` reads are counted: only attribute building reads it. */
function countedContent() {
  const reads = { count: 0 };
  const content = new Proxy(Buffer.from('hello'), {
    get(target, prop) {
      if (prop === 'byteLength') reads.count++;
      return Reflect.get(target, prop, target);
    },
  });
  return { content, reads };
}

describe('amqp message path (fake channel)', () => {
  it('records publish and delivery attributes, with a temporary queue as its placeholder', async () => {
    const tracing = createTestTracing();
    const fake = fakeChannel();
    const channel = instrumentAmqp(fake.raw, {
      tracerProvider: tracing.provider,
      registry: createOpenMetricsRegistry(),
    });
    const queue = 'amq.gen-abc123';
    await channel.consume(queue, (message: AmqpMessage | null) => {
      if (message) channel.ack(message);
    });
    channel.sendToQueue(queue, Buffer.from('hello'));
    assert.equal(fake.deliver(Buffer.from('hello')), undefined);
    assert.deepEqual(fake.acked, [1]);

    const publish = spanByName(tracing.spans(), 'publish amq.default');
    assert.equal(publish.attributes['messaging.rabbitmq.destination.routing_key'], queue);
    assert.equal(publish.attributes['messaging.message.body.size'], 5);
    assert.equal(publish.attributes['messaging.message.id'], fake.sent()?.options.messageId);

    const process = spanByName(tracing.spans(), 'process (anonymous)');
    assert.equal(process.attributes['messaging.destination.name'], queue);
    assert.equal(process.attributes['messaging.destination.anonymous'], true);
    assert.equal(process.attributes['messaging.destination.temporary'], undefined);
    assert.equal(process.attributes['messaging.destination.template'], '(anonymous)');
    assert.equal(process.attributes['messaging.rabbitmq.message.delivery_tag'], 1);
    assert.equal(process.attributes['messaging.rabbitmq.destination.routing_key'], queue);
    assert.equal(process.attributes['messaging.message.body.size'], 5);
    assert.equal(process.attributes['hoptrace.outcome'], 'ack');
    assert.equal(process.parentSpanContext?.spanId, publish.spanContext().spanId);
  });

  it('builds no span attributes for unsampled messages, and still traces and settles them', async () => {
    const sampledTracing = createTestTracing();
    const reads: Record<string, number> = {};
    for (const [mode, provider] of [
      ['unsampled', new TracerProvider({ sampler: new AlwaysOffSampler() })],
      ['sampled', sampledTracing.provider],
    ] as const) {
      const fake = fakeChannel();
      const registry = createOpenMetricsRegistry();
      const channel = instrumentAmqp(fake.raw, { tracerProvider: provider, registry });
      await channel.consume('q', (message: AmqpMessage | null) => {
        if (message) channel.ack(message);
      });
      const published = countedContent();
      channel.sendToQueue('q', published.content);
      const delivered = countedContent();
      fake.deliver(delivered.content);
      assert.deepEqual(fake.acked, [1]);
      assert.equal(typeof fake.sent()?.options.headers?.traceparent, 'string');
      reads[mode] = published.reads.count + delivered.reads.count;
      const text = await registry.metrics();
      assert.match(text, /messaging_client_consumed_messages_total\{[^}]*hoptrace_outcome="ack"\} 1\n/);
    }
    assert.equal(reads.unsampled, 0, 'no attribute built for an unsampled publish or delivery');
    assert.equal(reads.sampled, 2, 'body size read once for the publish, once for the delivery');
  });

  it('counts each queue under its own label (series kept per consume)', async () => {
    const tracing = createTestTracing();
    const fake = fakeChannel();
    const registry = createOpenMetricsRegistry();
    const channel = instrumentAmqp(fake.raw, { tracerProvider: tracing.provider, registry });
    for (const queue of ['q1', 'q2', 'amq.gen-x1']) {
      await channel.consume(queue, (message: AmqpMessage | null) => {
        if (message) channel.ack(message);
      });
    }
    for (const queue of ['q1', 'q2', 'q1', 'amq.gen-x1', 'q1']) {
      channel.sendToQueue(queue, Buffer.from('x'));
      fake.deliver(Buffer.from('x'));
    }
    const text = await registry.metrics();
    const consumed = (label: string) =>
      text.match(
        new RegExp(
          `messaging_client_consumed_messages_total\\{[^}]*messaging_destination_name="${label.replace(/[()]/g, '\\$&')}"[^}]*\\} (\\d+)`,
        ),
      )?.[1];
    assert.equal(consumed('q1'), '3');
    assert.equal(consumed('q2'), '1');
    assert.equal(consumed('(anonymous)'), '1');
  });
});
