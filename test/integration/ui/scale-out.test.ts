/**
 * Scale-out on the real Kafka: two collectors in Kafka-topic mode, each linking the flows of its
 * partitions, with each other as peers. The map and the journeys of either instance are the whole
 * system's: counts equal the sum of both instances' own, every journey is found on both, and the UI
 * of one shows a journey the other linked. A third, dead peer is reported, not fatal.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { FlowMap } from '../../../collector/journey/map-types.js';
import { type Collector, startCollector } from '../../../collector/start.js';
import type { Journey, JourneySummary, SpanRecord } from '../../../collector/types.js';
import { launchChromium } from '../../helpers/browser.js';
import { otlpProtobuf, processSpan, publishSpan } from '../../helpers/collector.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';

const BROKERS = stackEndpoint('HOPTRACE_KAFKA_BROKERS').split(',');
const TOKEN = 'scale-out-ui-token';
const auth = { authorization: `Bearer ${TOKEN}` };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function post(collector: Collector, spans: SpanRecord[]): Promise<void> {
  const response = await fetch(`${collector.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', ...auth },
    body: otlpProtobuf(spans),
  });
  assert.equal(response.status, 200);
}

async function get<T>(url: string): Promise<T> {
  const response = await fetch(url, { headers: auth });
  assert.equal(response.status, 200, url);
  return (await response.json()) as T;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const countOf = (map: FlowMap, id: string) => map.edges.find((e) => e.id === id)?.count ?? 0;
const PUBLISH = 'publish:service:orders->destination:kafka:orders';
const BILLING = 'consume:destination:kafka:orders->service:billing:billing';

describe('UI and /api across two scaled-out collectors', () => {
  it('shows the whole map and finds every journey from either instance', async (t) => {
    const admin = new Kafka({ brokers: BROKERS, logLevel: logLevel.NOTHING }).admin();
    if (!(await requireServer(t, 'Kafka', () => admin.connect()))) return;
    const id = randomBytes(4).toString('hex');
    const topic = `hoptrace-test.ui-spans.${id}`;
    const groupId = `hoptrace-test.ui.${id}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    const ports = [await freePort(), await freePort(), await freePort()];
    // Both instances, and a third that never starts: its figures must show as missing.
    const peers = ports.map((p) => `http://127.0.0.1:${p}`);
    const options = (port: number) => ({
      port,
      token: TOKEN,
      scaleOut: { kafka: { brokers: BROKERS, topic, groupId, peers } },
      limits: { unconsumedDeadlineMs: 2_000, linkWindowMs: 2_000, sweepIntervalMs: 100 },
    });
    const instances: Collector[] = [];
    try {
      instances.push(await startCollector(options(ports[0])), await startCollector(options(ports[1])));
      await waitFor('both instances in the consumer group', async () => {
        const ready = await Promise.all(instances.map((c) => fetch(`${c.url}/readyz`).then((r) => r.status)));
        return ready.every((s) => s === 200);
      });
      await new Promise((r) => setTimeout(r, 3_000)); // the rebalance after the second member joins

      const flows = 24;
      const ids: string[] = [];
      for (let i = 0; i < flows; i++) {
        const correlationId = `ui-flow-${id}-${i}`;
        ids.push(correlationId);
        const pub = publishSpan({
          service: 'orders',
          destination: 'orders',
          system: 'kafka',
          messageId: `${correlationId}-m`,
          correlationId,
          at: i,
        });
        const billing = processSpan(pub, {
          service: 'billing',
          destination: 'orders',
          group: 'billing',
          attempt: 1,
          outcome: 'ack',
          at: i + 3,
        });
        const email = processSpan(pub, {
          service: 'email',
          destination: 'orders',
          group: 'email',
          mode: 'link',
          attempt: 1,
          outcome: i % 4 === 0 ? 'dead_letter' : 'ack',
          deadLetterReason: i % 4 === 0 ? 'max_attempts' : undefined,
          at: i + 5,
        });
        if (i % 2 === 0) {
          await post(instances[1], [billing, email]);
          await post(instances[0], [pub]);
        } else {
          await post(instances[i % 4 === 1 ? 0 : 1], [pub, billing, email]);
        }
      }
      const local = (c: Collector) => get<FlowMap>(`${c.url}/api/map?local=1`);
      await waitFor('every flow linked', async () => {
        const maps = await Promise.all(instances.map(local));
        return maps.reduce((n, m) => n + countOf(m, BILLING), 0) === flows;
      });
      const locals = await Promise.all(instances.map(local));
      assert.ok(
        locals.every((m) => countOf(m, PUBLISH) > 0),
        `both instances link some flows: ${locals.map((m) => countOf(m, PUBLISH))}`,
      );
      for (const c of instances) {
        const whole = await get<FlowMap>(`${c.url}/api/map`);
        assert.equal(whole.instances, 2);
        assert.deepEqual(whole.missingPeers, [`http://127.0.0.1:${ports[2]}`]);
        assert.equal(whole.journeys, flows);
        assert.equal(countOf(whole, PUBLISH), flows);
        assert.equal(countOf(whole, BILLING), flows);
        const email = whole.edges.find(
          (e) => e.id === 'consume:destination:kafka:orders->service:email:email',
        );
        assert.equal(email?.deadLetters, flows / 4);
        assert.ok((email?.p50Ms ?? 0) > 0 && (email?.ratePerSecond ?? 0) > 0);

        const listed = await get<{ journeys: JourneySummary[] }>(`${c.url}/api/journeys?limit=100`);
        assert.deepEqual(listed.journeys.map((j) => j.correlationId).sort(), [...ids].sort());
        const deadLettered = await get<{ journeys: JourneySummary[] }>(
          `${c.url}/api/journeys?limit=100&outcome=dead_lettered`,
        );
        assert.equal(deadLettered.journeys.length, flows / 4);
        for (const correlationId of ids) {
          const journey = await get<Journey>(`${c.url}/api/journeys/${encodeURIComponent(correlationId)}`);
          assert.equal(journey.counts.deliveries, 2, correlationId);
          const byMessage = await get<Journey>(
            `${c.url}/api/messages/${encodeURIComponent(`${correlationId}-m`)}`,
          );
          assert.equal(byMessage.messageId, `${correlationId}-m`);
        }
      }
      // A journey linked on instance 0, opened in instance 1's UI.
      const owned = ids.find((j) => instances[0].linker.journey(j) !== undefined)!;
      assert.equal(instances[1].linker.journey(owned), undefined);
      const browser = await launchChromium(t);
      if (!browser) return;
      try {
        const page = await browser.newPage();
        await page.goto(`${instances[1].url}/journeys/${encodeURIComponent(owned)}#token=${TOKEN}`);
        await page.waitForSelector('.waterfall');
        assert.equal(await page.textContent('.journey-id'), owned);
        assert.equal(await page.locator('[data-row-kind="attempt"]').count(), 2);
        await page.goto(`${instances[1].url}/`);
        await page.waitForSelector('.map-svg[data-nodes="4"]');
        assert.match((await page.textContent('h2 .sub')) ?? '', /2 collectors/);
        assert.equal(await page.getAttribute(`[data-edge-id="${PUBLISH}"]`, 'data-count'), String(flows));
      } finally {
        await browser.close();
      }
    } finally {
      await Promise.all(instances.map((c) => c.close()));
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.deleteGroups([groupId]).catch(() => {});
      await admin.disconnect();
    }
  });
});
