import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseCollectorFlags } from '../../cli/commands/collector.js';
import { otlpProtobuf, processSpan, publishSpan } from '../../test/helpers/collector.js';
import { resolveConfig } from '../config.js';
import type { FlowMap, UiSettings } from '../journey/map-types.js';
import { type Collector, startCollector } from '../start.js';
import type { JourneySummary } from '../types.js';

const TOKEN = 'ui-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('web UI and map routes', () => {
  let collector: Collector;
  before(async () => {
    collector = await startCollector({
      port: 0,
      token: TOKEN,
      ui: { jaegerUrl: 'http://127.0.0.1:16686/', refreshMs: 500 },
    });
    const spans = [];
    for (const [i, fails] of [
      [1, false],
      [2, true],
    ] as const) {
      const pub = publishSpan({
        service: 'orders',
        destination: 'orders',
        system: 'kafka',
        messageId: `msg-${i}`,
        correlationId: `ui-flow-${i}`,
        at: i,
      });
      spans.push(pub);
      spans.push(
        processSpan(pub, {
          service: 'billing',
          destination: 'orders',
          group: 'billing',
          attempt: 1,
          outcome: fails ? 'retry' : 'ack',
          at: i + 3,
        }),
      );
      if (fails) {
        spans.push(
          processSpan(pub, {
            service: 'billing',
            destination: 'orders',
            group: 'billing',
            attempt: 2,
            outcome: 'dead_letter',
            deadLetterReason: 'max_attempts',
            at: i + 9,
          }),
        );
      }
    }
    const response = await fetch(`${collector.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', ...auth },
      body: otlpProtobuf(spans),
    });
    assert.equal(response.status, 200);
  });
  after(() => collector.close());

  it('serves the page at / and /journeys/{id} without data, with a strict CSP', async () => {
    for (const path of ['/', '/journeys/ui-flow-2', '/journeys/%3Cscript%3E']) {
      const response = await fetch(`${collector.url}${path}`);
      assert.equal(response.status, 200, path);
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      const html = await response.text();
      assert.match(html, /<script type="module" src="\/assets\/app.js">/);
      assert.doesNotMatch(html, /ui-flow|billing|script%3E|<script>/, 'the page holds no data');
    }
  });

  it('answers 400 to a bad %-escape in a path parameter instead of hanging', async () => {
    for (const path of ['/journeys/%E0%A4%A', '/api/journeys/%E0%A4%A']) {
      const response = await fetch(`${collector.url}${path}`, {
        headers: auth,
        signal: AbortSignal.timeout(5_000),
      });
      assert.equal(response.status, 400, path);
    }
  });

  it('serves only the built assets', async () => {
    const js = await fetch(`${collector.url}/assets/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.ok((await js.arrayBuffer()).byteLength > 1000);
    assert.equal((await fetch(`${collector.url}/assets/elk-worker.min.js`)).status, 200);
    for (const path of ['/assets/missing.js', '/assets/..%2Fpackage.json', '/assets/%2E%2E%2Findex.js']) {
      assert.equal((await fetch(`${collector.url}${path}`)).status, 404, path);
    }
  });

  it('answers /api/map and /api/ui only with the token', async () => {
    for (const path of ['/api/map', '/api/ui', '/api/journeys']) {
      assert.equal((await fetch(`${collector.url}${path}`)).status, 401, path);
      const wrong = await fetch(`${collector.url}${path}`, { headers: { authorization: 'Bearer nope' } });
      assert.equal(wrong.status, 401, path);
      assert.doesNotMatch(await wrong.text(), /billing|ui-flow/);
    }
    const settings = (await (await fetch(`${collector.url}/api/ui`, { headers: auth })).json()) as UiSettings;
    assert.deepEqual(settings, { refreshMs: 500, jaegerUrl: 'http://127.0.0.1:16686' });
    const map = (await (
      await fetch(`${collector.url}/api/map?window=30`, { headers: auth })
    ).json()) as FlowMap;
    assert.equal(map.windowSeconds, 30);
    const consume = map.edges.find(
      (e) => e.id === 'consume:destination:kafka:orders->service:billing:billing',
    );
    assert.deepEqual(
      [consume?.count, consume?.retries, consume?.deadLetters, consume?.ratePerSecond],
      [3, 1, 1, 0.1],
    );
    assert.equal(consume?.latencyDigest, undefined, 'digests only for peers');
    assert.equal((await fetch(`${collector.url}/api/map?window=0`, { headers: auth })).status, 400);
  });

  it('filters journeys by outcome, service and destination, and finds them by message ID', async () => {
    const list = async (query: string) => {
      const response = await fetch(`${collector.url}/api/journeys?${query}`, { headers: auth });
      assert.equal(response.status, 200, query);
      return ((await response.json()) as { journeys: JourneySummary[] }).journeys.map((j) => j.correlationId);
    };
    assert.deepEqual(await list('limit=10'), ['ui-flow-2', 'ui-flow-1']);
    assert.deepEqual(await list('outcome=dead_lettered'), ['ui-flow-2']);
    assert.deepEqual(await list('outcome=retried'), ['ui-flow-2']);
    assert.deepEqual(await list('outcome=orphaned'), []);
    assert.deepEqual(await list('service=billing&destination=orders'), ['ui-flow-2', 'ui-flow-1']);
    assert.deepEqual(await list('service=nobody'), []);
    assert.deepEqual(await list('q=msg-1'), ['ui-flow-1'], 'by message ID');
    assert.deepEqual(await list('q=FLOW-2'), ['ui-flow-2'], 'by correlation ID, any case');
    const bad = await fetch(`${collector.url}/api/journeys?outcome=lost`, { headers: auth });
    assert.equal(bad.status, 400);
    const summary = (
      (await (await fetch(`${collector.url}/api/journeys?q=ui-flow-2`, { headers: auth })).json()) as {
        journeys: JourneySummary[];
      }
    ).journeys[0];
    assert.deepEqual(
      [summary.deadLetters, summary.retries, summary.errors, summary.services, summary.destinations],
      [1, 1, 0, ['orders', 'billing'], ['orders']], // these test spans carry no error status
    );
  });
});

describe('hoptrace journey', () => {
  it("prints the journey's deep link into the web UI", async () => {
    const collector = await startCollector({ port: 0 });
    try {
      const pub = publishSpan({ service: 'a', destination: 'd', correlationId: 'link me/1', at: 0 });
      await collector.ingestSpans([pub, processSpan(pub, { service: 'b', destination: 'd', at: 1 })]);
      const cli = fileURLToPath(new URL('../../cli/index.js', import.meta.url));
      const { stdout } = await promisify(execFile)(process.execPath, [
        cli,
        'journey',
        'link me/1',
        '--collector',
        collector.url,
      ]);
      assert.ok(stdout.trimEnd().endsWith(`${collector.url}/journeys/link%20me%2F1`), stdout);
    } finally {
      await collector.close();
    }
  });
});

describe('UI options', () => {
  it('reads --jaeger-url and repeated --scale-out-peer, and refuses credentials in the Jaeger URL', () => {
    const options = parseCollectorFlags(
      [
        '--scale-out-brokers',
        '127.0.0.1:39092',
        '--scale-out-peer',
        'http://10.0.0.1:4318',
        '--scale-out-peer',
        'http://10.0.0.2:4318',
        '--jaeger-url',
        'http://127.0.0.1:16686',
      ],
      {},
    );
    assert.deepEqual(options.scaleOut?.kafka.peers, ['http://10.0.0.1:4318', 'http://10.0.0.2:4318']);
    assert.deepEqual(options.ui, { jaegerUrl: 'http://127.0.0.1:16686' });
    const resolved = resolveConfig(options);
    assert.deepEqual(
      resolved.scaleOut?.peers.map((u) => u.href),
      ['http://10.0.0.1:4318/', 'http://10.0.0.2:4318/'],
    );
    assert.throws(
      () => parseCollectorFlags(['--scale-out-peer', 'http://10.0.0.1:4318'], {}),
      /need --scale-out-brokers/,
    );
    assert.throws(() => resolveConfig({ ui: { jaegerUrl: 'http://u:p@jaeger:16686' } }), /credentials/);
    assert.throws(() => resolveConfig({ ui: { refreshMs: 0 } }), /refreshMs/);
  });
});
