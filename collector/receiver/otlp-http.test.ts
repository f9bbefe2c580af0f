import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  METRIC_COLLECTOR_SPANS_DROPPED,
  METRIC_COLLECTOR_SPANS_RECEIVED,
} from '../../instrumentation/core/semconv.js';
import {
  type HttpReply,
  metricSum,
  OTLP_JSON_HEADERS,
  OTLP_PROTOBUF_HEADERS,
  otlpJson,
  otlpProtobuf,
  processSpan,
  publishSpan,
  sendRaw,
} from '../../test/helpers/collector.js';
import type { CollectorOptions } from '../config.js';
import { decodeErrorStatus, decodeResponse, encodeProtobufRequest } from '../otlp/codec.js';
import { recordsToResourceSpans } from '../otlp/records.js';
import { type Collector, startCollector } from '../start.js';

const send = sendRaw;
const PROTO = OTLP_PROTOBUF_HEADERS;
const JSON_TYPE = OTLP_JSON_HEADERS;

function flow(correlationId: string) {
  const pub = publishSpan({
    service: 'orders',
    destination: 'orders',
    messageId: `${correlationId}-m`,
    correlationId,
    at: 0,
  });
  const consumer = processSpan(pub, {
    service: 'billing',
    destination: 'billing',
    group: 'billing',
    mode: 'link',
    outcome: 'ack',
    at: 12,
  });
  return [pub, consumer];
}

async function withCollector(options: CollectorOptions, fn: (c: Collector) => Promise<void>): Promise<void> {
  const collector = await startCollector({ port: 0, ...options });
  try {
    await fn(collector);
  } finally {
    await collector.close();
  }
}

describe('POST /v1/traces', () => {
  let collector: Collector;
  before(async () => {
    collector = await startCollector({ port: 0, limits: { maxBodyBytes: 64 * 1024 } });
  });
  after(() => collector.close());

  it('accepts protobuf, answers an empty protobuf ExportTraceServiceResponse and links the spans', async () => {
    const reply = await send(collector.url, { headers: PROTO, body: otlpProtobuf(flow('pb-1')) });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/x-protobuf');
    assert.equal(decodeResponse(reply.body, 'protobuf'), undefined, 'no partialSuccess');
    const journey = collector.linker.journey('pb-1');
    assert.equal(journey?.publishes[0].deliveries[0].hopLatencyMs, 12);
    assert.equal(journey?.publishes[0].deliveries[0].attempts[0].matchedBy, 'link');
  });

  it('accepts OTLP JSON (hex IDs, enum ints) and answers JSON', async () => {
    const spans = flow('json-1');
    const body = otlpJson(spans);
    const parsed = JSON.parse(body);
    assert.equal(parsed.resourceSpans[0].scopeSpans[0].spans[0].traceId, spans[0].traceId, 'hex, not base64');
    assert.equal(typeof parsed.resourceSpans[0].scopeSpans[0].spans[0].kind, 'number');
    const reply = await send(collector.url, {
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body,
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(reply.body.toString()), {});
    const journey = collector.linker.journey('json-1');
    assert.deepEqual(journey?.traceIds.sort(), [spans[0].traceId, spans[1].traceId].sort());
  });

  it('accepts gzip bodies in both encodings', async () => {
    const pb = await send(collector.url, {
      headers: { ...PROTO, 'content-encoding': 'gzip' },
      body: gzipSync(otlpProtobuf(flow('gz-pb'))),
    });
    const js = await send(collector.url, {
      headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
      body: gzipSync(otlpJson(flow('gz-json'))),
    });
    assert.equal(pb.status, 200);
    assert.equal(js.status, 200);
    assert.ok(collector.linker.journey('gz-pb'));
    assert.ok(collector.linker.journey('gz-json'));
  });

  it('rejects spans with invalid IDs through partialSuccess, in the request encoding', async () => {
    const spans = flow('partial');
    const bad = { ...spans[1], spanId: spans[1].spanId, traceId: spans[1].traceId };
    const request = { resourceSpans: recordsToResourceSpans([spans[0], bad]) };
    const span = request.resourceSpans[0].scopeSpans![0].spans![0];
    span.traceId = Buffer.alloc(16); // all-zero trace ID: invalid
    const before = await metricSum(collector.metrics, METRIC_COLLECTOR_SPANS_DROPPED, { reason: 'invalid' });
    const reply = await send(collector.url, { headers: PROTO, body: encodeProtobufRequest(request) });
    assert.equal(reply.status, 200);
    const partial = decodeResponse(reply.body, 'protobuf');
    assert.equal(partial?.rejectedSpans, 1);
    assert.match(partial?.errorMessage ?? '', /trace_id/);
    assert.equal(
      await metricSum(collector.metrics, METRIC_COLLECTOR_SPANS_DROPPED, { reason: 'invalid' }),
      before + 1,
    );

    const json = JSON.parse(otlpJson(flow('partial-json')));
    json.resourceSpans[0].scopeSpans[0].spans[0].spanId = 'not-hex';
    const jsonReply = await send(collector.url, { headers: JSON_TYPE, body: JSON.stringify(json) });
    assert.equal(jsonReply.status, 200);
    assert.deepEqual(JSON.parse(jsonReply.body.toString()), {
      partialSuccess: { rejectedSpans: '1', errorMessage: 'invalid span_id (need 8 non-zero bytes)' },
    });
  });

  it('answers 400 with a google.rpc.Status for malformed, truncated and badly gzipped bodies', async () => {
    const valid = otlpProtobuf(flow('trunc'));
    const truncated = await send(collector.url, {
      headers: PROTO,
      body: valid.subarray(0, valid.length - 7),
    });
    assert.equal(truncated.status, 400);
    assert.equal(decodeErrorStatus(truncated.body).code, 3, 'INVALID_ARGUMENT');
    assert.match(decodeErrorStatus(truncated.body).message, /invalid protobuf/);

    const garbage = await send(collector.url, {
      headers: PROTO,
      body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
    });
    assert.equal(garbage.status, 400);

    const badJson = await send(collector.url, { headers: JSON_TYPE, body: '{"resourceSpans": [' });
    assert.equal(badJson.status, 400);
    assert.equal(JSON.parse(badJson.body.toString()).code, 3);

    const wrongShape = await send(collector.url, {
      headers: JSON_TYPE,
      body: '{"resourceSpans": [{"scopeSpans": 5}]}',
    });
    assert.equal(wrongShape.status, 400);

    const badGzip = await send(collector.url, {
      headers: { ...PROTO, 'content-encoding': 'gzip' },
      body: Buffer.from('not gzip'),
    });
    assert.equal(badGzip.status, 400);
  });

  it('answers 413 for a declared, a streamed and a decompressed size over the limit', async () => {
    const big = Buffer.alloc(70 * 1024, 1);
    const declared = await send(collector.url, { headers: PROTO, body: big });
    assert.equal(declared.status, 413);
    const chunked = await send(collector.url, { headers: PROTO, body: big, chunked: true });
    assert.equal(chunked.status, 413);
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024)); // ~10 KiB compressed, 10 MiB expanded
    assert.ok(bomb.length < 64 * 1024);
    const expanded = await send(collector.url, {
      headers: { ...PROTO, 'content-encoding': 'gzip' },
      body: bomb,
    });
    assert.equal(expanded.status, 413);
  });

  it('answers 415 for other content types and encodings', async () => {
    const type = await send(collector.url, { headers: { 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(type.status, 415);
    const encoding = await send(collector.url, {
      headers: { ...PROTO, 'content-encoding': 'br' },
      body: 'x',
    });
    assert.equal(encoding.status, 415);
  });

  it('answers 404 and 405 for unknown routes and methods', async () => {
    assert.equal((await send(collector.url, { method: 'GET', path: '/nope' })).status, 404);
    const wrongMethod = await send(collector.url, { method: 'GET', path: '/v1/traces' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.allow, 'POST');
  });

  it('stays healthy after bad requests and counts received spans', async () => {
    assert.equal((await send(collector.url, { method: 'GET', path: '/healthz' })).status, 200);
    assert.equal((await send(collector.url, { method: 'GET', path: '/readyz' })).status, 200);
    const before = await metricSum(collector.metrics, METRIC_COLLECTOR_SPANS_RECEIVED, { source: 'otlp' });
    assert.equal(
      (await send(collector.url, { headers: PROTO, body: otlpProtobuf(flow('after')) })).status,
      200,
    );
    assert.equal(
      await metricSum(collector.metrics, METRIC_COLLECTOR_SPANS_RECEIVED, { source: 'otlp' }),
      before + 2,
    );
  });
});

describe('bearer token', () => {
  it('answers 401 without or with a wrong token on ingest and the API, not on /metrics and health', async () => {
    await withCollector({ token: 's3cret' }, async (c) => {
      const body = otlpProtobuf(flow('auth'));
      assert.equal((await send(c.url, { headers: PROTO, body })).status, 401);
      const wrong = await send(c.url, { headers: { ...PROTO, authorization: 'Bearer s3cre' }, body });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers['www-authenticate'], 'Bearer');
      assert.equal(
        (await send(c.url, { headers: { ...PROTO, authorization: 'Basic s3cret' }, body })).status,
        401,
      );
      assert.equal(
        (await send(c.url, { headers: { ...PROTO, authorization: 'Bearer s3cret' }, body })).status,
        200,
      );
      assert.equal((await send(c.url, { method: 'GET', path: '/api/journeys/auth' })).status, 401);
      const api = await send(c.url, {
        method: 'GET',
        path: '/api/journeys/auth',
        headers: { authorization: 'Bearer s3cret' },
      });
      assert.equal(api.status, 200);
      assert.equal((await send(c.url, { method: 'GET', path: '/metrics' })).status, 200);
      assert.equal((await send(c.url, { method: 'GET', path: '/healthz' })).status, 200);
    });
  });
});

describe('overload', () => {
  /** Starts a request that declares `length` bytes, sends a few and holds the rest back. */
  function hold(url: string, length: number): { done: Promise<HttpReply>; release: () => void } {
    let release = () => {};
    const done = new Promise<HttpReply>((resolve, reject) => {
      const req = request(
        `${url}/v1/traces`,
        { method: 'POST', headers: { ...PROTO, 'content-length': length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        },
      );
      req.on('error', reject);
      req.write(Buffer.alloc(1));
      release = () => req.end(Buffer.alloc(length - 1));
    });
    return { done, release: () => release() };
  }

  it('answers 503 with Retry-After past maxConcurrentRequests, and 429 past maxInFlightBytes', async () => {
    await withCollector(
      { limits: { maxConcurrentRequests: 1, maxBodyBytes: 1000, maxInFlightBytes: 1000 } },
      async (c) => {
        const held = hold(c.url, 10);
        await new Promise((r) => setTimeout(r, 50));
        const busy = await send(c.url, { headers: PROTO, body: Buffer.alloc(0) });
        assert.equal(busy.status, 503);
        assert.equal(busy.headers['retry-after'], '1');
        held.release();
        assert.equal((await held.done).status, 400, 'the held body (zeros) was read and judged, not refused');
        assert.equal(
          (await send(c.url, { headers: PROTO, body: otlpProtobuf(flow('after-503')) })).status,
          200,
        );
      },
    );
    await withCollector(
      { limits: { maxConcurrentRequests: 8, maxBodyBytes: 1000, maxInFlightBytes: 1000 } },
      async (c) => {
        const held = hold(c.url, 900);
        await new Promise((r) => setTimeout(r, 50));
        const full = await send(c.url, { headers: PROTO, body: Buffer.alloc(200) });
        assert.equal(full.status, 429);
        assert.equal(full.headers['retry-after'], '1');
        held.release();
        assert.equal(
          (await held.done).status,
          400,
          'the held body is zeros: not a valid request, but it was read',
        );
        assert.equal(
          (await send(c.url, { headers: PROTO, body: otlpProtobuf(flow('after-429')) })).status,
          200,
        );
      },
    );
  });
});
