/**
 * Forwards spans (originals as received, plus synthetic ones) to another OTLP/HTTP receiver as
 * protobuf batches. One request at a time; retriable failures (network, 429, 502-504) are retried
 * with exponential backoff and jitter, honouring `Retry-After`. The queue is bounded in spans and bytes:
 * beyond it new spans are dropped and counted, as are batches that exhaust their retries or are
 * refused, and spans still queued when the collector closes past its grace period.
 */
import type { ForwardOptions } from '../config.js';
import { ForwardError } from '../errors.js';
import type { CollectorMetrics, DropReason } from '../metrics.js';
import {
  CONTENT_TYPE_PROTOBUF,
  decodeResponse,
  encodeProtobufRequest,
  type OtlpResourceSpans,
} from '../otlp/codec.js';
import { logger } from '../server.js';

const RETRIABLE_STATUSES = new Set([429, 502, 503, 504]);

interface QueuedSpans {
  resourceSpans: OtlpResourceSpans;
  spans: number;
  /** Approximate encoded size. */
  bytes: number;
}

/** Size assumed for a span when the caller does not know it (synthetic spans are small). */
const DEFAULT_SPAN_BYTES = 1024;
/** A batch stops growing at this size, so one request stays within common receivers' body limits. */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

function spanCount(rs: OtlpResourceSpans): number {
  let n = 0;
  for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
  return n;
}

function retryAfterSeconds(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

export class Forwarder {
  private queue: QueuedSpans[] = [];
  private queuedSpans = 0;
  private queuedBytes = 0;
  private sending: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly abort = new AbortController();
  private loggedDrop = false;
  /** While > 0, partial batches are sent at once instead of waiting for the flush timer. */
  private flushing = 0;

  constructor(
    private readonly url: URL,
    private readonly options: ForwardOptions,
    private readonly metrics: CollectorMetrics,
  ) {
    metrics.up.set({ source: 'forward' }, 1);
  }

  get pendingSpans(): number {
    return this.queuedSpans;
  }

  /**
   * Queues spans for forwarding. `approxBytes` is their encoded size when known (the request body they
   * came in); each resource's share is taken by span count. The queue is bounded in spans and in bytes.
   */
  enqueue(resourceSpans: OtlpResourceSpans[], approxBytes?: number): void {
    const counts = resourceSpans.map(spanCount);
    const total = counts.reduce((a, b) => a + b, 0);
    resourceSpans.forEach((rs, i) => {
      const spans = counts[i] as number;
      if (spans === 0) return;
      const bytes =
        approxBytes !== undefined && total > 0
          ? Math.ceil((approxBytes * spans) / total)
          : spans * DEFAULT_SPAN_BYTES;
      if (
        this.closed ||
        this.queuedSpans + spans > this.options.maxQueueSpans ||
        this.queuedBytes + bytes > this.options.maxQueueBytes
      ) {
        this.drop('forward_queue_full', spans);
        return;
      }
      this.queue.push({ resourceSpans: rs, spans, bytes });
      this.queuedSpans += spans;
      this.queuedBytes += bytes;
    });
    if (this.queuedSpans >= this.options.maxBatchSpans) this.kick();
    else if (this.queuedSpans > 0 && !this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.kick();
      }, this.options.flushIntervalMs);
      this.flushTimer.unref();
    }
  }

  /** Sends everything queued; resolves when the queue is empty (or the forwarder is aborted). */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      while ((this.queuedSpans > 0 || this.sending) && !this.abort.signal.aborted) {
        this.kick();
        await this.sending;
      }
    } finally {
      this.flushing--;
    }
  }

  /** Flushes for up to `graceMs`, then drops what is left (counted as `forward_failed`). */
  async close(graceMs = 5_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      timer.unref();
    });
    await Promise.race([this.flush(), deadline]);
    clearTimeout(timer);
    this.abort.abort();
    await this.sending?.catch(() => {});
    if (this.queuedSpans > 0) this.drop('forward_failed', this.queuedSpans);
    this.queue = [];
    this.queuedSpans = 0;
    this.queuedBytes = 0;
  }

  private kick(): void {
    if (this.sending || this.queuedSpans === 0 || this.abort.signal.aborted) return;
    this.sending = this.sendLoop().finally(() => {
      this.sending = undefined;
    });
  }

  private takeBatch(): QueuedSpans[] {
    const batch: QueuedSpans[] = [];
    let spans = 0;
    let bytes = 0;
    while (
      this.queue.length > 0 &&
      (batch.length === 0 ||
        (spans + this.queue[0].spans <= this.options.maxBatchSpans &&
          bytes + this.queue[0].bytes <= MAX_BATCH_BYTES))
    ) {
      const item = this.queue.shift()!;
      batch.push(item);
      spans += item.spans;
      bytes += item.bytes;
    }
    this.queuedSpans -= spans;
    this.queuedBytes -= bytes;
    return batch;
  }

  private async sendLoop(): Promise<void> {
    while (this.queuedSpans > 0 && !this.abort.signal.aborted) {
      // A partial batch waits for the flush timer unless a flush or close is in progress.
      if (this.flushing === 0 && this.queuedSpans < this.options.maxBatchSpans && this.flushTimer) return;
      const batch = this.takeBatch();
      const spans = batch.reduce((n, b) => n + b.spans, 0);
      const body = encodeProtobufRequest({ resourceSpans: batch.map((b) => b.resourceSpans) });
      await this.sendWithRetry(body, spans);
    }
  }

  private async sendWithRetry(body: Uint8Array, spans: number): Promise<void> {
    let backoff = this.options.initialBackoffMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.post(body, spans);
        this.metrics.up.set({ source: 'forward' }, 1);
        this.metrics.lastSuccess.set({ source: 'forward' }, Date.now() / 1000);
        return;
      } catch (err) {
        const error =
          err instanceof ForwardError
            ? err
            : new ForwardError((err as Error).message, { retriable: true, cause: err });
        this.metrics.up.set({ source: 'forward' }, 0);
        if (this.abort.signal.aborted) {
          this.drop('forward_failed', spans);
          return;
        }
        if (!error.retriable || attempt >= this.options.maxAttempts) {
          logger.warn(`forwarding ${spans} spans to ${this.url.href} failed: ${error.message}`);
          this.drop(error.retriable ? 'forward_failed' : 'forward_rejected', spans);
          return;
        }
        const jittered = backoff * (0.5 + Math.random() * 0.5);
        const wait = Math.min(
          this.options.maxBackoffMs,
          error.retryAfter !== undefined ? error.retryAfter * 1000 : jittered,
        );
        await this.sleep(wait);
        backoff = Math.min(this.options.maxBackoffMs, backoff * 2);
      }
    }
  }

  private async post(body: Uint8Array, spans: number): Promise<void> {
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.timeoutMs)]);
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { ...this.options.headers, 'content-type': CONTENT_TYPE_PROTOBUF },
      body,
      signal,
    });
    const payload = new Uint8Array(await response.arrayBuffer());
    if (response.ok) {
      const contentType = response.headers.get('content-type') ?? '';
      try {
        const partial =
          payload.length === 0
            ? undefined
            : decodeResponse(payload, contentType.includes('json') ? 'json' : 'protobuf');
        if (partial && partial.rejectedSpans > 0)
          this.drop('forward_rejected', Math.min(spans, partial.rejectedSpans));
      } catch {
        // A 200 with an unreadable body still means the batch was accepted.
      }
      return;
    }
    throw new ForwardError(`HTTP ${response.status}`, {
      retriable: RETRIABLE_STATUSES.has(response.status),
      retryAfter: retryAfterSeconds(response.headers.get('retry-after')),
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const onAbort = () => done();
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private drop(reason: DropReason, spans: number): void {
    this.metrics.spansDropped.inc({ reason }, spans);
    if (!this.loggedDrop) {
      this.loggedDrop = true;
      logger.warn(
        `forwarder dropped ${spans} spans (${reason}); further drops are counted in hoptrace_collector_spans_dropped_total`,
      );
    }
  }
}
