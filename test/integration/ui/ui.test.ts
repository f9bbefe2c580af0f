/**
 * The web UI in headless Chromium: the demo's flows are sent to a collector over OTLP, and the page
 * must show every service and destination with rates on the right edges and the dead-letter edge,
 * order-3's journey with its attempts, dead letter and timings, nothing for a wrong token, and
 * hostile strings from spans as text only. Screenshots go to a temp folder (docs/ui.md shows the
 * committed copies).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { runOrdersDemo } from '../../../cli/demo/inproc.js';
import { setupTelemetry } from '../../../cli/demo/telemetry.js';
import { formatMs } from '../../../collector/journey/render.js';
import { fromReadableSpan } from '../../../collector/otlp/readable-span.js';
import { type Collector, startCollector } from '../../../collector/start.js';
import type { Journey, SpanRecord } from '../../../collector/types.js';
import { launchChromium, SCREENSHOTS } from '../../helpers/browser.js';
import { otlpProtobuf, processSpan, publishSpan } from '../../helpers/collector.js';

const TOKEN = 'ui-browser-token';
const JAEGER = 'http://127.0.0.1:36686';

async function post(collector: Collector, spans: SpanRecord[], token?: string): Promise<void> {
  const response = await fetch(`${collector.url}/v1/traces`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: otlpProtobuf(spans),
  });
  assert.equal(response.status, 200);
}

/** Fails the test on anything the page runs that it should not: dialogs, page errors. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

interface EdgeInfo {
  id: string;
  kind: string;
  rate: number;
  count: number;
  label: string;
}

const edges = (page: Page): Promise<EdgeInfo[]> =>
  page.$$eval('[data-edge-id]', (els) =>
    els.map((el) => ({
      id: el.getAttribute('data-edge-id') ?? '',
      kind: el.getAttribute('data-kind') ?? '',
      rate: Number(el.getAttribute('data-rate')),
      count: Number(el.getAttribute('data-count')),
      label: el.querySelector('.edge-label')?.textContent ?? '',
    })),
  );

const BUS = 'destination:hoptrace.bus:';

describe('web UI in Chromium', () => {
  let collector: Collector;
  let browser: Browser | undefined;
  let demoIds: string[] = [];

  before(async () => {
    collector = await startCollector({ port: 0, token: TOKEN, ui: { jaegerUrl: JAEGER, refreshMs: 500 } });
    const telemetry = setupTelemetry({ serviceName: 'hoptrace-demo' });
    try {
      demoIds = (await runOrdersDemo({ orders: 6 })).correlationIds;
      await post(collector, telemetry.spans().map(fromReadableSpan), TOKEN);
    } finally {
      await telemetry.shutdown();
    }
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await collector.close();
  });

  it('maps every service and destination of the demo, with rates and the dead-letter edge', async (t) => {
    browser = await launchChromium(t);
    if (!browser) return;
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const problems = watch(page);
    await page.goto(`${collector.url}/#token=${TOKEN}`);
    await page.waitForSelector('.map-svg[data-nodes="9"]');
    assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar');
    const nodes = await page.$$eval('[data-node-id]', (els) =>
      els.map((el) => el.getAttribute('data-node-id')),
    );
    assert.deepEqual(nodes.sort(), [
      `${BUS}order.placed`,
      `${BUS}order.placed.dlq`,
      `${BUS}payment.processed`,
      'service:billing',
      'service:dlq-audit',
      'service:email',
      'service:inventory',
      'service:shipping',
      'service:storefront',
    ]);
    const drawn = await edges(page);
    const byId = new Map(drawn.map((e) => [e.id, e]));
    const expectRate = (id: string, count: number) => {
      const e = byId.get(id);
      assert.ok(e, `edge ${id} drawn; drawn: ${[...byId.keys()].join(', ')}`);
      assert.equal(e.count, count, id);
      assert.ok(e.rate > 0, `${id} has a non-zero rate`);
      return e;
    };
    expectRate(`publish:service:storefront->${BUS}order.placed`, 6);
    expectRate(`publish:service:billing->${BUS}payment.processed`, 6);
    expectRate(`consume:${BUS}order.placed->service:billing:billing`, 6);
    expectRate(`consume:${BUS}order.placed->service:inventory:inventory`, 6);
    const email = expectRate(`consume:${BUS}order.placed->service:email:email`, 10); // 4 ok + 2 x 3 attempts
    expectRate(`consume:${BUS}payment.processed->service:shipping:shipping`, 6);
    expectRate(`consume:${BUS}order.placed.dlq->service:dlq-audit:dlq-audit`, 2);
    const dead = expectRate(`dead_letter:${BUS}order.placed->${BUS}order.placed.dlq:email`, 2);
    assert.equal(dead.kind, 'dead_letter');
    assert.match(dead.label, /dead letters 2 \(email\)/);
    assert.match(email.label, /p50 .* · p95 .*err 60% · DL 20%retries 4/); // one line per tspan
    assert.equal(drawn.length, 8, 'no other edges');
    assert.equal(await page.textContent('[data-total="unconsumed"]'), '0 unconsumed');
    assert.equal(await page.textContent('[data-total="orphans"]'), '0 orphans');
    await page.screenshot({ path: join(SCREENSHOTS, 'map.png'), fullPage: true });

    // The journeys list under the map: both dead-lettered orders, found by the outcome filter.
    await page.selectOption('select[name="outcome"]', 'dead_lettered');
    // The page's CSP forbids eval, so poll from here rather than with waitForFunction.
    const rows = page.locator('tr[data-journey]');
    for (let i = 0; i < 100 && (await rows.count()) !== 2; i++) await page.waitForTimeout(50);
    const listed = await page.$$eval('tr[data-journey]', (rows) =>
      rows.map((r) => r.getAttribute('data-journey')),
    );
    assert.deepEqual(listed, ['order-6', 'order-3']);
    assert.match(page.url(), /\?outcome=dead_lettered$/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it("shows order-3's journey: attempts, dead letter and timings, with Jaeger links", async (t) => {
    browser ??= await launchChromium(t);
    if (!browser) return;
    assert.ok(demoIds.includes('order-3'));
    const api = (await (
      await fetch(`${collector.url}/api/journeys/order-3`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as Journey;
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems = watch(page);
    await page.goto(`${collector.url}/?q=order-3#token=${TOKEN}`);
    await page.click('tr[data-journey="order-3"] a');
    await page.waitForSelector('.waterfall');
    assert.equal(new URL(page.url()).pathname, '/journeys/order-3', 'the deep link');
    assert.equal(await page.textContent('.journey-id'), 'order-3');
    const rows = await page.$$eval('.wf-row', (els) =>
      els.map((el) => ({
        kind: el.getAttribute('data-row-kind'),
        attempt: el.getAttribute('data-attempt'),
        outcome: el.getAttribute('data-outcome'),
        title: el.querySelector('.wf-title')?.textContent ?? '',
        details: el.querySelector('.wf-details')?.textContent ?? '',
        start: Number(el.querySelector('.wf-time')?.getAttribute('data-start-ms')),
      })),
    );
    const emailAttempts = rows.filter(
      (r) => r.kind === 'attempt' && r.title.includes('email ← order.placed'),
    );
    assert.deepEqual(
      emailAttempts.map((r) => [r.attempt, r.outcome]),
      [
        ['1', 'retry'],
        ['2', 'retry'],
        ['3', 'dead_letter'],
      ],
    );
    // Timings: the page shows the collector's hop latencies; retries come later, after the backoff.
    const email = api.publishes[0].deliveries.find((d) => d.service === 'email')!;
    email.attempts.forEach((a, i) => {
      assert.ok(
        emailAttempts[i].details.includes(`hop +${formatMs(a.latencyMs!)}`),
        emailAttempts[i].details,
      );
    });
    assert.ok(emailAttempts[1].start - emailAttempts[0].start >= 19, 'first retry after the 20 ms backoff');
    assert.ok(emailAttempts[2].start - emailAttempts[1].start >= 39, 'second retry after the 40 ms backoff');
    assert.ok(emailAttempts.every((r) => /error EmailBouncedError/.test(r.details)));
    const deadLetter = rows.filter((r) => r.kind === 'dead_letter');
    assert.equal(deadLetter.length, 1);
    assert.match(deadLetter[0].title, /dead-lettered from order\.placed/);
    assert.match(deadLetter[0].details, /reason max_attempts · by email/);
    assert.ok(deadLetter[0].start >= emailAttempts[2].start);
    assert.ok(rows.some((r) => r.kind === 'attempt' && r.title.includes('dlq-audit ← order.placed.dlq')));
    const counts = await page.$$eval('.counts li', (els) => els.map((el) => el.textContent ?? ''));
    assert.deepEqual(counts.slice(0, 4), ['3 publishes', '7 deliveries', '2 retries', '1 dead-lettered']);
    assert.match(counts[counts.length - 1], /^[\d.]+ ms end to end$/);
    const traceLinks = await page.$$eval('a.trace-link', (els) => els.map((el) => el.getAttribute('href')));
    assert.deepEqual(
      traceLinks,
      api.traceIds.map((id) => `${JAEGER}/trace/${id}`),
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'journey.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('gives a wrong token no data, and the right one through the form', async (t) => {
    browser ??= await launchChromium(t);
    if (!browser) return;
    const context = await browser.newContext();
    const page = await context.newPage();
    const answers: number[] = [];
    page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/api/')) answers.push(r.status());
    });
    await page.goto(`${collector.url}/journeys/order-3#token=wrong`);
    await page.waitForSelector('.token-form');
    assert.equal(await page.$('.map-svg, .waterfall'), null);
    const text = (await page.textContent('body')) ?? '';
    assert.doesNotMatch(text, /storefront|email|order\.placed|EmailBounced/);
    assert.ok(answers.length > 0 && answers.every((s) => s === 401), `API answers ${answers.join(',')}`);
    await page.fill('input[name="token"]', TOKEN);
    await page.click('.token-form button');
    await page.waitForSelector('.waterfall');
    await context.close();
  });

  it('renders hostile strings from spans as text and runs none of them', async (t) => {
    browser ??= await launchChromium(t);
    if (!browser) return;
    const hostile = {
      service: '<img src=x onerror="window.__pwned=1">svc',
      destination: '</text><script>window.__pwned=2</script>',
      errorType: '"><svg onload="window.__pwned=3"></svg>',
      correlationId: '<b id="pwn">x</b>?a=1&b=2#/../',
      group: "{{constructor.constructor('window.__pwned=4')()}}",
      messageId: 'javascript:window.__pwned=5',
    };
    const open = await startCollector({ port: 0 });
    try {
      const pub = publishSpan({
        service: hostile.service,
        destination: hostile.destination,
        system: 'kafka',
        messageId: hostile.messageId,
        correlationId: hostile.correlationId,
        at: 0,
      });
      const consumer = processSpan(pub, {
        service: 'victim',
        destination: hostile.destination,
        group: hostile.group,
        attempt: 1,
        outcome: 'error',
        at: 3,
      });
      consumer.attributes['error.type'] = hostile.errorType;
      await post(open, [pub, consumer]);

      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const problems = watch(page);
      await page.goto(`${open.url}/`);
      await page.waitForSelector('.map-svg[data-nodes="3"]');
      await page.waitForSelector('tr[data-journey]');
      const bodyText = (await page.textContent('body')) ?? '';
      assert.ok(bodyText.includes(hostile.service), 'the service name shows as text');
      assert.ok(bodyText.includes(hostile.correlationId), 'the correlation ID shows as text');
      const nodeTitles = await page.$$eval('[data-node-id] title', (els) => els.map((el) => el.textContent));
      assert.ok(nodeTitles.includes(`kafka destination: ${hostile.destination}`));
      await page.click('tr[data-journey] a');
      await page.waitForSelector('.waterfall');
      assert.equal(await page.textContent('.journey-id'), hostile.correlationId);
      assert.equal(
        new URL(page.url()).pathname,
        `/journeys/${encodeURIComponent(hostile.correlationId)}`,
        'the deep link keeps the ID whole',
      );
      const details = await page.$$eval('.wf-details', (els) => els.map((el) => el.textContent ?? ''));
      assert.ok(details.some((d) => d.includes(`error ${hostile.errorType}`)));
      assert.ok(details.some((d) => d.includes(`message ${hostile.messageId}`)));
      // Browser-side expressions as strings: the test is compiled without the DOM library.
      const injected = await page.evaluate(`({
        pwned: window.__pwned,
        elements: document.querySelectorAll('#pwn, img, b, svg [onload], [onerror], script:not([src])').length,
        javascriptLinks: [...document.querySelectorAll('a')].filter((a) => a.href.startsWith('javascript:')).length,
      })`);
      assert.deepEqual(injected, { pwned: undefined, elements: 0, javascriptLinks: 0 });
      // The deep link opened directly (not by navigation) renders the same.
      await page.goto(`${open.url}/journeys/${encodeURIComponent(hostile.correlationId)}`);
      await page.waitForSelector('.waterfall');
      assert.equal(await page.textContent('.journey-id'), hostile.correlationId);
      assert.equal(await page.evaluate('window.__pwned'), undefined);
      assert.deepEqual(problems, []);
      await page.close();
    } finally {
      await open.close();
    }
  });
});
