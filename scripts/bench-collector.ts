/**
 * Quick collector measurements (the formal `npm run bench` comes later):
 *  1. OTLP protobuf ingest + linking, in process, on one core: decode -> normalize -> link, spans/s.
 *  2. The same through HTTP (`POST /v1/traces` on a started collector, client in this process).
 *  3. Heap bytes per tracked in-flight message (publish + delivery, journeys included).
 *
 * Run: `npm run build && node --expose-gc dist/scripts/bench-collector.js`
 */
import { Agent, request } from 'node:http';
import { Linker } from '../collector/linker/linker.js';
import { CollectorMetrics } from '../collector/metrics.js';
import { decodeProtobufRequest } from '../collector/otlp/codec.js';
import { normalizeRequest } from '../collector/otlp/normalize.js';
import { startCollector } from '../collector/start.js';
import type { SpanRecord } from '../collector/types.js';
import { otlpProtobuf, processSpan, publishSpan } from '../test/helpers/collector.js';

const SPANS_PER_REQUEST = 512;

/** One flow: a publish with three deliveries (one in link mode), with the attributes the wrappers set. */
function flowSpans(i: number): SpanRecord[] {
  const pub = publishSpan({
    service: `svc-${i % 7}`,
    destination: `orders-${i % 13}`,
    messageId: `m-${i}-${Math.random().toString(36).slice(2)}`,
    correlationId: `c-${i}`,
    routingKey: 'order.placed',
    at: i,
  });
  pub.attributes['hoptrace.published_at'] = 1_704_067_200_000 + i;
  const deliveries = ['billing', 'shipping', 'email'].map((g, j) => {
    const d = processSpan(pub, {
      service: g,
      destination: `${g}-q`,
      group: g,
      mode: j === 2 ? 'link' : 'parent',
      attempt: 1,
      outcome: 'ack',
      at: i + 2 + j,
    });
    d.attributes['hoptrace.published_at'] = 1_704_067_200_000 + i;
    d.attributes['messaging.rabbitmq.message.delivery_tag'] = i;
    return d;
  });
  return [pub, ...deliveries];
}

function buildRequests(totalSpans: number): Uint8Array[] {
  const spans: SpanRecord[] = [];
  for (let i = 0; spans.length < totalSpans; i++) spans.push(...flowSpans(i));
  // Consumers first in half of the batches: out-of-order arrival is the common case across services.
  const requests: Uint8Array[] = [];
  for (let i = 0; i < spans.length; i += SPANS_PER_REQUEST)
    requests.push(otlpProtobuf(spans.slice(i, i + SPANS_PER_REQUEST)));
  return requests;
}

function benchPipeline(requests: Uint8Array[], spanCount: number): number {
  const linker = new Linker({
    metrics: new CollectorMetrics({ maxLabelValues: 200 }),
    limits: { maxTrackedMessages: 1_000_000 },
  });
  const started = process.hrtime.bigint();
  for (const body of requests) {
    const result = normalizeRequest(decodeProtobufRequest(body), { messagingOnly: true });
    linker.ingest(result.spans);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return spanCount / seconds;
}

function post(url: URL, body: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: keepAlive,
        headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 4 });

async function benchHttp(requests: Uint8Array[], spanCount: number): Promise<number> {
  const collector = await startCollector({ port: 0, limits: { maxTrackedMessages: 1_000_000 } });
  const url = new URL(`${collector.url}/v1/traces`);
  const started = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const status = await post(url, requests[next++]);
      if (status !== 200) throw new Error(`HTTP ${status}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await collector.close();
  keepAlive.destroy();
  return spanCount / seconds;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc');
  collect();
  collect();
}

function benchMemory(messages: number): { perPublishOnly: number; perPublishWithDelivery: number } {
  const measure = (withDelivery: boolean) => {
    const linker = new Linker({
      limits: {
        maxTrackedMessages: messages * 2 + 10,
        maxJourneys: messages + 10,
        unconsumedDeadlineMs: 3_600_000,
        messageTtlMs: 3_600_000,
      },
    });
    // Records are made inside the measured window: what the linker keeps of them (ID strings,
    // timestamps) counts; the rest is garbage by the second gc().
    gc();
    const before = process.memoryUsage().heapUsed;
    // Through OTLP encode + decode + normalize, as in the collector: the strings the linker keeps
    // are the decoder's flat strings.
    for (let i = 0; i < messages; i += 500) {
      const spans: SpanRecord[] = [];
      for (let j = i; j < Math.min(messages, i + 500); j++) {
        const [pub, ...deliveries] = flowSpans(j);
        spans.push(pub);
        if (withDelivery) spans.push(deliveries[2]);
      }
      linker.ingest(
        normalizeRequest(decodeProtobufRequest(otlpProtobuf(spans)), { messagingOnly: true }).spans,
      );
    }
    gc();
    const after = process.memoryUsage().heapUsed;
    if (linker.stats().publish !== messages) throw new Error('not all tracked');
    return (after - before) / messages;
  };
  return { perPublishOnly: measure(false), perPublishWithDelivery: measure(true) };
}

async function main(): Promise<void> {
  const totalSpans = Number(process.argv[2] ?? 200_000);
  const requests = buildRequests(totalSpans);
  const spanCount = requests.length * SPANS_PER_REQUEST;
  const bytes = requests.reduce((n, r) => n + r.length, 0);
  console.log(
    `${spanCount} spans in ${requests.length} protobuf requests (${(bytes / spanCount).toFixed(0)} bytes/span)`,
  );
  benchPipeline(requests.slice(0, 20), 20 * SPANS_PER_REQUEST); // warm-up
  const pipeline = benchPipeline(requests, spanCount);
  console.log(`decode + normalize + link, in process: ${Math.round(pipeline).toLocaleString('en')} spans/s`);
  const http = await benchHttp(requests, spanCount);
  console.log(
    `POST /v1/traces end to end (client in the same process): ${Math.round(http).toLocaleString('en')} spans/s`,
  );
  const memory = benchMemory(100_000);
  console.log(
    `heap per tracked message: publish only ${Math.round(memory.perPublishOnly)} B, publish + delivery ${Math.round(memory.perPublishWithDelivery)} B`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
