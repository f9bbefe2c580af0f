/**
 * The UI with 10 000 journeys tracked and 50 nodes: how long the collector takes to build the map and
 * the journey list, and the page to show the map, update it and filter. Prints the figures
 * (`ui-perf: {...}`, recorded in docs/ui.md) and fails only on a pathological slowdown.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FlowMap } from '../../../collector/journey/map-types.js';
import { type Collector, startCollector } from '../../../collector/start.js';
import type { SpanRecord } from '../../../collector/types.js';
import { launchChromium, SCREENSHOTS } from '../../helpers/browser.js';
import { otlpProtobuf, processSpan, publishSpan } from '../../helpers/collector.js';

const JOURNEYS = 10_000;
const PRODUCERS = 10;
const CONSUMERS = 10;
const TOPICS = 30; // 10 + 10 services + 30 topics = 50 nodes

function journeySpans(i: number): SpanRecord[] {
  const topic = i % TOPICS;
  const pub = publishSpan({
    service: `producer-${topic % PRODUCERS}`,
    destination: `topic-${topic}`,
    system: 'kafka',
    messageId: `perf-m-${i}`,
    correlationId: `perf-${i}`,
    at: i,
  });
  const failed = i % 50 === 0;
  const spans = [
    pub,
    processSpan(pub, {
      service: `consumer-${topic % CONSUMERS}`,
      destination: `topic-${topic}`,
      group: `group-${topic % CONSUMERS}`,
      attempt: 1,
      outcome: failed ? 'retry' : 'ack',
      at: i + 2 + (i % 7),
    }),
  ];
  if (failed) {
    spans.push(
      processSpan(pub, {
        service: `consumer-${topic % CONSUMERS}`,
        destination: `topic-${topic}`,
        group: `group-${topic % CONSUMERS}`,
        attempt: 2,
        outcome: 'ack',
        at: i + 30,
      }),
    );
  }
  return spans;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await fn();
  return [value, performance.now() - started];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (ms: number) => Math.round(ms * 10) / 10;

describe('UI at 10k journeys and 50 nodes', () => {
  let collector: Collector;
  before(async () => {
    collector = await startCollector({ port: 0, limits: { maxJourneys: JOURNEYS }, ui: { refreshMs: 500 } });
    for (let start = 0; start < JOURNEYS; start += 1_000) {
      const spans: SpanRecord[] = [];
      for (let i = start; i < start + 1_000; i++) spans.push(...journeySpans(i));
      const response = await fetch(`${collector.url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: otlpProtobuf(spans),
      });
      assert.equal(response.status, 200);
    }
  });
  after(() => collector.close());

  it('builds the map and lists, and the page renders and stays responsive', async (t) => {
    const figures: Record<string, number> = {};
    const mapTimes: number[] = [];
    let map: FlowMap | undefined;
    for (let i = 0; i < 5; i++) {
      const [m, ms] = await timed(
        async () => (await fetch(`${collector.url}/api/map`)).json() as Promise<FlowMap>,
      );
      map = m;
      mapTimes.push(ms);
    }
    assert.equal(map?.journeys, JOURNEYS);
    assert.equal(map?.nodes.length, 50);
    assert.equal(map?.edges.length, 60);
    figures.apiMapMs = round(median(mapTimes));
    figures.apiMapBytes = JSON.stringify(map).length;
    const listTimes: number[] = [];
    for (const query of [
      'limit=100',
      'limit=100&outcome=retried',
      'limit=100&service=consumer-3&q=perf-99',
    ]) {
      const [body, ms] = await timed(async () =>
        (await fetch(`${collector.url}/api/journeys?${query}`)).json(),
      );
      assert.ok((body as { journeys: unknown[] }).journeys.length > 0, query);
      listTimes.push(ms);
    }
    figures.apiJourneysListMs = round(listTimes[0]);
    figures.apiJourneysFilteredMs = round(Math.max(listTimes[1], listTimes[2]));

    mkdirSync(SCREENSHOTS, { recursive: true });
    const browser = await launchChromium(t);
    if (!browser) return;
    try {
      const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
      const [, loadMs] = await timed(async () => {
        await page.goto(`${collector.url}/`);
        await page.waitForSelector('.map-svg[data-nodes="50"]');
        await page.waitForSelector('tr[data-journey]');
      });
      figures.pageToMapMs = round(loadMs);
      const inPage = (await page.evaluate(
        '({ firstMapMs: window.__hoptrace.firstMapMs, layoutMs: window.__hoptrace.layoutMs })',
      )) as { firstMapMs: number; layoutMs: number };
      figures.navigationToMapMs = round(inPage.firstMapMs);
      figures.layoutMs = round(inPage.layoutMs);
      // Polls (every 0.5 s here, 2 s by default) re-render in place; their cost is the fetch and the render.
      await page.waitForTimeout(1_500);
      figures.pollUpdateMs = round((await page.evaluate('window.__hoptrace.lastPollMs')) as number);
      // A click on a node filters the journeys: time until the list shows only that service.
      const [, filterMs] = await timed(async () => {
        await page.click('[data-node-id="service:consumer-3"]');
        await page.waitForSelector('tr[data-journey] >> text=consumer-3');
        await page.waitForURL(/service=consumer-3/);
      });
      figures.clickToFilteredListMs = round(filterMs);
      await page.locator('.map').screenshot({ path: join(SCREENSHOTS, 'map-50-nodes.png') });
      console.log(`ui-perf: ${JSON.stringify(figures)}`);
      // Generous bounds: a regression to seconds fails, machine noise does not.
      assert.ok(figures.apiMapMs < 1_000, `map built in ${figures.apiMapMs} ms`);
      assert.ok(figures.pageToMapMs < 15_000, `page showed the map in ${figures.pageToMapMs} ms`);
      assert.ok(figures.clickToFilteredListMs < 5_000, `filtered in ${figures.clickToFilteredListMs} ms`);
    } finally {
      await browser.close();
    }
  });
});
