import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { otlpProtobuf, processSpan, publishSpan } from '../../test/helpers/collector.js';
import { renderJourney } from '../journey/render.js';
import { type Collector, startCollector } from '../start.js';
import type { Journey } from '../types.js';

describe('journeys API', () => {
  let collector: Collector;
  const placed = publishSpan({
    service: 'checkout',
    destination: 'order.placed',
    messageId: 'api-m1',
    correlationId: 'api-flow',
    at: 0,
  });
  const billing = processSpan(placed, {
    service: 'billing',
    destination: 'order.placed',
    group: 'billing',
    outcome: 'ack',
    at: 4,
  });
  const paid = publishSpan({
    service: 'billing',
    destination: 'payment.processed',
    messageId: 'api-m2',
    correlationId: 'api-flow',
    at: 5,
    parent: billing,
  });
  const shipping = processSpan(paid, {
    service: 'shipping',
    destination: 'payment.processed',
    group: 'shipping',
    mode: 'link',
    outcome: 'ack',
    at: 9,
  });

  before(async () => {
    collector = await startCollector({ port: 0 });
    const response = await fetch(`${collector.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: otlpProtobuf([shipping, paid, billing, placed]),
    });
    assert.equal(response.status, 200);
  });
  after(() => collector.close());

  it('GET /api/journeys/{correlationId} returns the tree as JSON', async () => {
    const response = await fetch(`${collector.url}/api/journeys/api-flow`);
    assert.equal(response.status, 200);
    const journey = (await response.json()) as Journey;
    assert.equal(journey.correlationId, 'api-flow');
    assert.equal(journey.publishes.length, 1);
    const root = journey.publishes[0];
    assert.equal(root.messageId, 'api-m1');
    assert.equal(root.deliveries[0].service, 'billing');
    assert.equal(root.deliveries[0].hopLatencyMs, 4);
    const followOn = root.deliveries[0].publishes[0];
    assert.equal(followOn.destination, 'payment.processed');
    assert.equal(followOn.deliveries[0].service, 'shipping');
    assert.equal(followOn.deliveries[0].attempts[0].matchedBy, 'link');
    assert.equal(journey.counts.deliveries, 2);
    assert.match(renderJourney(journey), /billing \(billing\) <- order\.placed {2}\+4\.0 ms {2}ack/);
  });

  it('GET /api/messages/{messageId} returns the journey from that message on', async () => {
    const response = await fetch(`${collector.url}/api/messages/api-m2`);
    assert.equal(response.status, 200);
    const journey = (await response.json()) as Journey;
    assert.equal(journey.messageId, 'api-m2');
    assert.deepEqual(
      journey.publishes.map((p) => p.destination),
      ['payment.processed'],
    );
  });

  it('lists recent correlation IDs and answers 404 and 400 where it should', async () => {
    const list = (await (await fetch(`${collector.url}/api/journeys?limit=5`)).json()) as {
      journeys: { correlationId: string }[];
    };
    assert.deepEqual(
      list.journeys.map((j) => j.correlationId),
      ['api-flow'],
    );
    assert.equal((await fetch(`${collector.url}/api/journeys/unknown`)).status, 404);
    assert.equal((await fetch(`${collector.url}/api/messages/unknown`)).status, 404);
    assert.equal((await fetch(`${collector.url}/api/journeys?limit=0`)).status, 400);
  });
});
