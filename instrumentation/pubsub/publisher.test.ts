import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { createTestTracing } from '../../test/helpers/tracing.js';
import { createOpenMetricsRegistry } from '../core/metrics.js';
import { createWrapContext } from './instrument.js';
import { wrapPublisher } from './publisher.js';
import type { PubSubInstrumentationOptions } from './types.js';

/** A Publisher stand-in: records what reaches the client, answers like its promisified publishMessage. */
function fakePublisher(fail?: Error) {
  const sent: { data?: Uint8Array; attributes?: Record<string, string>; orderingKey?: string }[] = [];
  const publisher = {
    topic: { name: 'projects/p/topics/orders' },
    publishMessage(message: (typeof sent)[number], callback?: (err: Error | null, id?: string) => void) {
      if (message.attributes) {
        for (const v of Object.values(message.attributes)) {
          if (typeof v !== 'string') throw new TypeError('All attributes must be in the form of a string.');
        }
      }
      if (!message.data && Object.keys(message.attributes ?? {}).length === 0) {
        throw new TypeError('If data is undefined, at least one attribute must be present.');
      }
      sent.push(message);
      const id = String(sent.length);
      if (callback) {
        setImmediate(() => (fail ? callback(fail) : callback(null, id)));
        return undefined;
      }
      return fail ? Promise.reject(fail) : Promise.resolve(id);
    },
  };
  return { publisher, sent };
}

function setup(options: PubSubInstrumentationOptions = {}, fail?: Error) {
  const tracing = createTestTracing();
  const ctx = createWrapContext({
    tracerProvider: tracing.provider,
    registry: createOpenMetricsRegistry(),
    ...options,
  });
  const { publisher, sent } = fakePublisher(fail);
  return { tracing, sent, wrapped: wrapPublisher(ctx, publisher) };
}

describe('pubsub publisher wrapper', () => {
  it("sends a copy with the trace context and never touches the caller's message", async () => {
    const { tracing, sent, wrapped } = setup();
    const attributes = Object.freeze({ tenant: 'eu' });
    const message = Object.freeze({ data: Buffer.from('x'), attributes, orderingKey: 'k' });
    assert.equal(await wrapped.publishMessage(message), '1');
    assert.notEqual(sent[0], message);
    assert.equal(sent[0]!.orderingKey, 'k');
    assert.equal(sent[0]!.attributes!.tenant, 'eu');
    const [span] = tracing.spans();
    assert.equal(span!.name, 'send orders');
    assert.equal(span!.attributes['messaging.message.id'], '1');
    assert.equal(
      sent[0]!.attributes!.traceparent,
      `00-${span!.spanContext().traceId}-${span!.spanContext().spanId}-01`,
    );
  });

  it('passes what the client rejects through unchanged, with the same error', () => {
    const { tracing, sent, wrapped } = setup();
    assert.throws(() => wrapped.publishMessage({}), /at least one attribute/);
    const bad = { data: Buffer.from('x'), attributes: { n: 1 as unknown as string } };
    assert.throws(() => wrapped.publishMessage(bad), TypeError);
    assert.equal(sent.length, 0);
    const spans = tracing.spans();
    assert.equal(spans.length, 1, 'only the message hoptrace could trace');
    assert.equal(spans[0]!.status.code, SpanStatusCode.ERROR);
    assert.equal(spans[0]!.attributes['error.type'], 'TypeError');
  });

  it('keeps the callback form and records a failed publish', async () => {
    const boom = Object.assign(new Error('unavailable'), { code: 'UNAVAILABLE' });
    const { tracing, wrapped } = setup({}, boom);
    const error = await new Promise((resolve) => wrapped.publishMessage({ data: Buffer.from('x') }, resolve));
    assert.equal(error, boom);
    assert.equal(tracing.spans()[0]!.attributes['error.type'], 'UNAVAILABLE');
    await assert.rejects(
      wrapped.publishMessage({ data: Buffer.from('y') }) as Promise<string>,
      (err: unknown) => err === boom,
    );
  });

  it('throwing hooks do not affect the publish', async () => {
    const { sent, wrapped } = setup({
      hooks: {
        publishHook: () => {
          throw new Error('hook');
        },
      },
    });
    assert.equal(await wrapped.publishMessage({ data: Buffer.from('x') }), '1');
    assert.equal(sent.length, 1);
  });
});
