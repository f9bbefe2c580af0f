/**
 * The collector: OTLP protobuf ingest with linking, memory per tracked message, and overload.
 *
 * Spans are the ones the wrappers produce for one flow: a publish and three deliveries (one in link
 * mode), with their messaging and hoptrace attributes, 512 per request, encoded once before the clock.
 *
 * Modes:
 * - `ingest`: decode + normalize + link in this process, on one core (no HTTP): spans/s.
 * - `http`: the same through `POST /v1/traces` of a started collector; the client is another process,
 *   so the collector has its core to itself: spans/s.
 * - `memory`: heap bytes per tracked in-flight message (its publish, indexes and journey entry), and with
 *   one linked delivery kept for its journey. Needs `--expose-gc`.
 * - `overload`: the collector's RSS while a client process offers first what it sustains (closed loop,
 *   4 requests in flight), then ten times that (open loop, up to 1024 requests in flight); excess must be
 *   answered 429/503, not buffered. The tracked-message limit is lowered so the linker's state is at its
 *   cap in both phases: the RSS difference is what overload itself costs.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Linker } from '../../collector/linker/linker.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { decodeProtobufRequest } from '../../collector/otlp/codec.js';
import { normalizeRequest } from '../../collector/otlp/normalize.js';
import { startCollector } from '../../collector/start.js';
import type { SpanRecord } from '../../collector/types.js';
import { otlpProtobuf, processSpan, publishSpan } from '../../test/helpers/collector.js';
import { type ModeResult, quantile, workload } from '../harness.js';

const SPANS_PER_REQUEST = 512;
const INGEST_SPANS = 400_000;
const TRACKED_MESSAGES = 100_000;
const OVERLOAD_SECONDS = 6;
const OVERLOAD_FACTOR = 10;
const OVERLOAD_CONNECTIONS = 1024;
const OVERLOAD_TRACKED_MESSAGES = 20_000;
const LOAD_FLAG = '--load-generator';

/** One flow: a publish with three deliveries (one in link mode), with the attributes the wrappers set. */
function flowSpans(i: number): SpanRecord[] {
  const publish = publishSpan({
    service: `svc-${i % 7}`,
    destination: `orders-${i % 13}`,
    messageId: `m-${i}-${Math.random().toString(36).slice(2)}`,
    correlationId: `c-${i}`,
    routingKey: 'order.placed',
    at: i,
  });
  publish.attributes['hoptrace.published_at'] = 1_704_067_200_000 + i;
  const deliveries = ['billing', 'shipping', 'email'].map((group, j) => {
    const delivery = processSpan(publish, {
      service: group,
      destination: `${group}-q`,
      group,
      mode: j === 2 ? 'link' : 'parent',
      attempt: 1,
      outcome: 'ack',
      at: i + 2 + j,
    });
    delivery.attributes['hoptrace.published_at'] = 1_704_067_200_000 + i;
    delivery.attributes['messaging.rabbitmq.message.delivery_tag'] = i;
    return delivery;
  });
  return [publish, ...deliveries];
}

/** `spans` spans of whole flows, as OTLP protobuf requests of 512 spans. */
function protobufRequests(spans: number, firstFlow = 0): Uint8Array[] {
  const records: SpanRecord[] = [];
  for (let i = firstFlow; records.length < spans; i++) records.push(...flowSpans(i));
  const requests: Uint8Array[] = [];
  for (let i = 0; i + SPANS_PER_REQUEST <= records.length; i += SPANS_PER_REQUEST)
    requests.push(otlpProtobuf(records.slice(i, i + SPANS_PER_REQUEST)));
  return requests;
}

function ingestInProcess(requests: Uint8Array[]): number {
  const linker = new Linker({
    metrics: new CollectorMetrics({ maxLabelValues: 200 }),
    limits: { maxTrackedMessages: 1_000_000 },
  });
  const started = process.hrtime.bigint();
  for (const body of requests)
    linker.ingest(normalizeRequest(decodeProtobufRequest(body), { messagingOnly: true }).spans);
  return (requests.length * SPANS_PER_REQUEST) / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function ingest(scale: number): Promise<ModeResult> {
  const requests = protobufRequests(Math.round(INGEST_SPANS * scale));
  ingestInProcess(protobufRequests(20 * SPANS_PER_REQUEST, 10_000_000)); // warm-up, other message IDs
  const bytes = requests.reduce((n, r) => n + r.length, 0);
  return {
    unit: 'spans_per_s',
    value: ingestInProcess(requests),
    extra: { bytes_per_span: bytes / (requests.length * SPANS_PER_REQUEST) },
  };
}

// --- HTTP load from another process -------------------------------------------------------------------

interface LoadPlan {
  url: string;
  /** Requests per second to start (open loop); 0: closed loop with `concurrency` in flight. */
  rate: number;
  concurrency: number;
  seconds: number;
  spans: number;
}

interface LoadReport {
  accepted: number;
  /** Answered 429 or 503. */
  rejected: number;
  errors: number;
  /** Open loop: requests due while `concurrency` were already in flight, so never sent. */
  notSent: number;
  seconds: number;
  /** Answer time of the requests, p99 (ms). */
  p99Ms: number;
}

function post(agent: Agent, url: URL, body: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
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

/** The worker's side: sends the plan's requests and reports the answers. */
async function runLoad(plan: LoadPlan): Promise<LoadReport> {
  const requests = protobufRequests(plan.spans, 20_000_000);
  const url = new URL(plan.url);
  const agent = new Agent({ keepAlive: true, maxSockets: plan.concurrency });
  const report: LoadReport = { accepted: 0, rejected: 0, errors: 0, notSent: 0, seconds: 0, p99Ms: 0 };
  const latencies: number[] = [];
  let next = 0;
  let inFlight = 0;
  const send = async () => {
    inFlight++;
    const sentAt = performance.now();
    try {
      const status = await post(agent, url, requests[next++ % requests.length] as Uint8Array);
      latencies.push(performance.now() - sentAt);
      if (status === 200) report.accepted++;
      else if (status === 429 || status === 503) report.rejected++;
      else report.errors++;
    } catch {
      report.errors++;
    } finally {
      inFlight--;
    }
  };
  const started = performance.now();
  const deadline = started + plan.seconds * 1000;
  if (plan.rate === 0) {
    const loop = async () => {
      while (performance.now() < deadline) await send();
    };
    await Promise.all(Array.from({ length: plan.concurrency }, loop));
  } else {
    // Open loop: requests start on schedule whether or not earlier ones were answered (up to the cap).
    const pending: Promise<void>[] = [];
    for (let due = started; due < deadline; due += 1000 / plan.rate) {
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      if (inFlight < plan.concurrency) pending.push(send());
      else report.notSent++;
      if (pending.length > 10_000) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
  }
  report.seconds = (performance.now() - started) / 1000;
  report.p99Ms = latencies.length > 0 ? quantile(latencies, 0.99) : 0;
  agent.destroy();
  return report;
}

/** Runs the load in a child process (its memory and CPU are not the collector's). */
function loadFromProcess(plan: LoadPlan): Promise<LoadReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), LOAD_FLAG, JSON.stringify(plan)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as LoadReport);
      else reject(new Error(`load generator exited with ${code}`));
    });
  });
}

async function http(scale: number): Promise<ModeResult> {
  const collector = await startCollector({ port: 0, limits: { maxTrackedMessages: 1_000_000 } });
  const spans = Math.round(INGEST_SPANS * scale);
  const seconds = 5 * Math.max(scale, 0.3);
  const report = await loadFromProcess({
    url: `${collector.url}/v1/traces`,
    rate: 0,
    concurrency: 4,
    seconds,
    spans,
  });
  await collector.close();
  return {
    unit: 'spans_per_s',
    value: (report.accepted * SPANS_PER_REQUEST) / report.seconds,
    extra: { rejected: report.rejected, errors: report.errors },
  };
}

async function overload(scale: number): Promise<ModeResult> {
  const collector = await startCollector({
    port: 0,
    limits: {
      maxTrackedMessages: OVERLOAD_TRACKED_MESSAGES,
      maxJourneys: OVERLOAD_TRACKED_MESSAGES,
      // As `hoptrace collector` runs: alone in its process, shedding load when its event loop saturates.
      shedAboveBusyPercent: 90,
    },
  });
  const url = `${collector.url}/v1/traces`;
  let samples: { at: number; rss: number; heap: number; external: number }[] = [];
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    samples.push({ at: performance.now(), rss: usage.rss, heap: usage.heapUsed, external: usage.external });
  }, 50);
  const seconds = OVERLOAD_SECONDS * Math.max(scale, 0.5);
  const spans = 200 * SPANS_PER_REQUEST;
  const peak = (from: number) => {
    const window = samples.filter((s) => s.at >= from);
    return window.reduce((best, s) => (s.rss > best.rss ? s : best), window[0] ?? samples[0]);
  };

  const sustained = await loadFromProcess({ url, rate: 0, concurrency: 4, seconds, spans });
  const sustainedPeak = peak(0);
  const sustainedLive = liveHeap();
  const sustainedRate = sustained.accepted / sustained.seconds;
  samples = [];
  const overloadStart = performance.now();
  const overloaded = await loadFromProcess({
    url,
    rate: OVERLOAD_FACTOR * sustainedRate,
    concurrency: OVERLOAD_CONNECTIONS,
    seconds,
    spans,
  });
  clearInterval(sampler);
  const overloadLive = liveHeap();
  await collector.close();
  // Bounded means it levels off: the second half of the overload peaks no higher than the first.
  const midpoint = overloadStart + ((performance.now() - overloadStart) * 1) / 2;
  const firstHalf = samples.filter((s) => s.at < midpoint).reduce((m, s) => Math.max(m, s.rss), 0);
  const overloadPeak = peak(overloadStart);
  const answered = overloaded.accepted + overloaded.rejected + overloaded.errors;
  const offered = answered + overloaded.notSent;
  return {
    unit: 'peak_rss_mb',
    value: overloadPeak.rss / 2 ** 20,
    extra: {
      sustained_rss_mb: sustainedPeak.rss / 2 ** 20,
      rss_growth_mb: (overloadPeak.rss - sustainedPeak.rss) / 2 ** 20,
      rss_second_half_vs_first: overloadPeak.rss / firstHalf,
      heap_at_peak_mb: overloadPeak.heap / 2 ** 20,
      live_heap_sustained_mb: sustainedLive / 2 ** 20,
      live_heap_overload_mb: overloadLive / 2 ** 20,
      external_at_peak_mb: overloadPeak.external / 2 ** 20,
      sustained_spans_per_s: sustainedRate * SPANS_PER_REQUEST,
      offered_factor: offered / overloaded.seconds / sustainedRate,
      accepted_spans_per_s: (overloaded.accepted * SPANS_PER_REQUEST) / overloaded.seconds,
      rejected_share: answered === 0 ? 0 : overloaded.rejected / answered,
      not_sent_share: offered === 0 ? 0 : overloaded.notSent / offered,
      sustained_p99_ms: sustained.p99Ms,
      overload_p99_ms: overloaded.p99Ms,
      errors: overloaded.errors + sustained.errors,
    },
  };
}

// --- Memory per tracked message -----------------------------------------------------------------------

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the memory and overload modes need node --expose-gc');
  gc();
  gc();
}

/** Heap in use after a full collection: what is really kept, not garbage awaiting collection. */
function liveHeap(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Heap bytes the linker keeps per message: its publish, and optionally one delivery linked to it. */
function heapPerMessage(messages: number, withDelivery: boolean): number {
  const linker = new Linker({
    limits: {
      maxTrackedMessages: messages * 2 + 10,
      maxJourneys: messages + 10,
      unconsumedDeadlineMs: 3_600_000,
      messageTtlMs: 3_600_000,
    },
  });
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  // Through OTLP encode + decode + normalize, as in the collector: the strings the linker keeps are the
  // decoder's. What the linker does not keep is garbage by the next collection.
  for (let i = 0; i < messages; i += 500) {
    const spans: SpanRecord[] = [];
    for (let j = i; j < Math.min(messages, i + 500); j++) {
      const [publish, , , linked] = flowSpans(j);
      spans.push(publish as SpanRecord);
      if (withDelivery) spans.push(linked as SpanRecord);
    }
    linker.ingest(
      normalizeRequest(decodeProtobufRequest(otlpProtobuf(spans)), { messagingOnly: true }).spans,
    );
  }
  collectGarbage();
  const after = process.memoryUsage().heapUsed;
  if (linker.stats().publish !== messages) throw new Error('not every publish is tracked');
  return (after - before) / messages;
}

async function memory(scale: number): Promise<ModeResult> {
  const messages = Math.round(TRACKED_MESSAGES * Math.max(scale, 0.3));
  heapPerMessage(5_000, true); // warm-up
  return {
    unit: 'bytes_per_message',
    value: heapPerMessage(messages, false),
    extra: { with_delivery_bytes: heapPerMessage(messages, true) },
  };
}

if (process.argv[2] === LOAD_FLAG) {
  runLoad(JSON.parse(process.argv[3] ?? '{}') as LoadPlan).then(
    (report) => process.stdout.write(JSON.stringify(report)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  workload({ ingest, http, memory, overload });
}
