import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  DESCRIPTOR_FILE,
  generateOtlpDescriptorSource,
  repoRoot,
} from '../../scripts/generate-otlp-descriptor.js';
import { otlpJson, otlpProtobuf, processSpan, publishSpan } from '../../test/helpers/collector.js';
import { decodeJsonRequest, decodeProtobufRequest, encodeProtobufRequest } from './codec.js';
import { normalizeRequest } from './normalize.js';
import { fromReadableSpan } from './readable-span.js';
import { recordsToResourceSpans } from './records.js';

describe('OTLP codec', () => {
  it('the committed descriptor is what the vendored .proto files generate', () => {
    const committed = readFileSync(join(repoRoot(), DESCRIPTOR_FILE), 'utf8');
    assert.equal(committed, generateOtlpDescriptorSource());
  });

  it('round-trips span records through protobuf and JSON with every field intact', () => {
    const pub = publishSpan({
      service: 'orders',
      destination: 'orders',
      messageId: 'm-1',
      correlationId: 'c-1',
      routingKey: 'k',
      at: 1.5,
    });
    const consumer = processSpan(pub, {
      service: 'billing',
      destination: 'billing',
      group: 'g',
      mode: 'link',
      attempt: 2,
      outcome: 'error',
      at: 9,
    });
    consumer.attributes.list = ['a', 'b'];
    consumer.attributes.big = 2 ** 40;
    consumer.attributes.ratio = 0.25;
    consumer.attributes.flag = false;
    for (const decoded of [
      normalizeRequest(decodeProtobufRequest(otlpProtobuf([pub, consumer]))).spans,
      normalizeRequest(decodeJsonRequest(Buffer.from(otlpJson([pub, consumer])))).spans,
    ]) {
      assert.deepEqual(decoded, [pub, consumer]);
    }
  });

  it('reads OTLP JSON as other SDKs write it: int64 as strings, enums as numbers, unknown fields ignored', () => {
    const body = JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'py-svc' } }] },
          unknownField: true,
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '5B8EFFF798038103D269B633813FC60C',
                  spanId: 'EEE19B7EC3C1B174',
                  parentSpanId: '',
                  name: 'send orders',
                  kind: 4,
                  startTimeUnixNano: '1544712660000000000',
                  endTimeUnixNano: 1544712661000000000,
                  attributes: [
                    { key: 'messaging.operation.type', value: { stringValue: 'send' } },
                    { key: 'n', value: { intValue: '42' } },
                    {
                      key: 'nested',
                      value: { kvlistValue: { values: [{ key: 'a', value: { boolValue: true } }] } },
                    },
                  ],
                  status: { code: 2, message: 'boom' },
                },
              ],
            },
          ],
        },
      ],
    });
    const [span] = normalizeRequest(decodeJsonRequest(Buffer.from(body))).spans;
    assert.equal(span.traceId, '5b8efff798038103d269b633813fc60c');
    assert.equal(span.spanId, 'eee19b7ec3c1b174');
    assert.equal(span.parentSpanId, undefined);
    assert.equal(span.kind, 'producer');
    assert.equal(span.startTimeUnixNano, 1544712660000000000n);
    assert.equal(span.serviceName, 'py-svc');
    assert.deepEqual(span.attributes, { 'messaging.operation.type': 'send', n: 42, 'nested.a': true });
    assert.deepEqual(span.status, { code: 'error', message: 'boom' });
  });

  it('decodes a string with invalid UTF-8 with replacement characters instead of failing', () => {
    const request = {
      resourceSpans: recordsToResourceSpans([publishSpan({ service: 'svc', destination: 'XXXX', at: 0 })]),
    };
    const body = Buffer.from(encodeProtobufRequest(request));
    for (let at = body.indexOf('XXXX'); at >= 0; at = body.indexOf('XXXX', at + 1)) body[at] = 0xff;
    const [span] = normalizeRequest(decodeProtobufRequest(body)).spans;
    assert.equal(span.attributes['messaging.destination.name'], '\ufffdXXX');
  });
});

describe('fromReadableSpan', () => {
  it('converts SDK spans, including kind, parent, links, times and resource service', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'sdk-svc' }),
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    const tracer = provider.getTracer('t');
    const producer = tracer.startSpan('send orders', {
      kind: SpanKind.PRODUCER,
      attributes: { 'messaging.system': 'kafka' },
    });
    producer.end();
    const ctx = trace.setSpan(ROOT_CONTEXT, producer);
    const consumer = tracer.startSpan(
      'process orders',
      { kind: SpanKind.CONSUMER, links: [{ context: producer.spanContext(), attributes: { why: 'batch' } }] },
      ctx,
    );
    consumer.setStatus({ code: SpanStatusCode.ERROR, message: 'x' });
    consumer.end();
    const [p, c] = exporter.getFinishedSpans().map(fromReadableSpan);
    assert.equal(p.kind, 'producer');
    assert.equal(p.serviceName, 'sdk-svc');
    assert.equal(p.parentSpanId, undefined);
    assert.equal(c.kind, 'consumer');
    assert.equal(c.parentSpanId, p.spanId);
    assert.equal(c.traceId, p.traceId);
    assert.deepEqual(c.links, [{ traceId: p.traceId, spanId: p.spanId, attributes: { why: 'batch' } }]);
    assert.deepEqual(c.status, { code: 'error', message: 'x' });
    assert.ok(c.endTimeUnixNano >= c.startTimeUnixNano && c.startTimeUnixNano > 1_600_000_000_000_000_000n);
  });
});
