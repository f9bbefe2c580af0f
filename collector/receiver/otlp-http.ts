/**
 * `POST /v1/traces`: the OTLP/HTTP trace receiver. Protobuf or JSON, optionally gzip; answers in
 * the request's encoding. Admission is bounded by concurrent requests (503) and by bytes being read
 * or decoded at once (429); excess requests are answered with `Retry-After`, never queued.
 */

import type { CollectorLimits } from '../config.js';
import { OverloadedError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors.js';
import type { CollectorMetrics } from '../metrics.js';
import {
  CONTENT_TYPE_JSON,
  CONTENT_TYPE_PROTOBUF,
  decodeRequest,
  encodeErrorStatus,
  encodeResponse,
  type OtlpExportRequest,
  type OtlpFormat,
} from '../otlp/codec.js';
import { normalizeRequest } from '../otlp/normalize.js';
import type { RequestContext, Route } from '../server.js';
import type { SpanSink } from '../types.js';
import { decodeContentEncoding, readRawBody } from './body.js';
import type { LoadShedder } from './load-shedder.js';

export const OTLP_TRACES_PATH = '/v1/traces';

export interface OtlpRouteDeps {
  limits: Pick<CollectorLimits, 'maxBodyBytes' | 'maxInFlightBytes' | 'maxConcurrentRequests'>;
  metrics: CollectorMetrics;
  sink: SpanSink;
  /** Receives each accepted request as decoded, with its decoded body size, for forwarding. */
  forward?: (request: OtlpExportRequest, bytes: number) => void;
  isClosing: () => boolean;
  /** Refuses a share of requests while the event loop is saturated. */
  shedder?: LoadShedder;
}

/** Counts requests and bytes in progress; refuses work beyond the limits instead of queueing it. */
export class IngestBudget {
  private active = 0;
  private bytes = 0;

  constructor(private readonly limits: OtlpRouteDeps['limits']) {}

  get inFlightBytes(): number {
    return this.bytes;
  }

  admit(declaredBytes: number): { add(n: number): void; release(): void } {
    if (this.active >= this.limits.maxConcurrentRequests) {
      throw new OverloadedError('too many ingest requests in progress', 503, 1);
    }
    this.reserve(declaredBytes);
    this.active++;
    let held = declaredBytes;
    let released = false;
    return {
      add: (n: number) => {
        this.reserve(n);
        held += n;
      },
      release: () => {
        if (released) return;
        released = true;
        this.active--;
        this.bytes -= held;
      },
    };
  }

  private reserve(n: number): void {
    if (this.bytes + n > this.limits.maxInFlightBytes) {
      throw new OverloadedError('ingest byte budget exhausted', 429, 1);
    }
    this.bytes += n;
  }
}

export function requestFormat(contentType: string | undefined): OtlpFormat {
  const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (mediaType === CONTENT_TYPE_PROTOBUF || mediaType === 'application/protobuf') return 'protobuf';
  if (mediaType === CONTENT_TYPE_JSON) return 'json';
  throw new UnsupportedMediaTypeError(
    `unsupported content-type "${mediaType}"; use ${CONTENT_TYPE_PROTOBUF} or ${CONTENT_TYPE_JSON}`,
  );
}

function formatOf(ctx: RequestContext): OtlpFormat {
  try {
    return requestFormat(ctx.req.headers['content-type']);
  } catch {
    return 'json';
  }
}

export function otlpRoutes(deps: OtlpRouteDeps): Route[] {
  const budget = new IngestBudget(deps.limits);
  const { metrics } = deps;

  async function handle(ctx: RequestContext): Promise<void> {
    if (deps.isClosing()) throw new OverloadedError('collector is shutting down', 503, 5);
    const format = requestFormat(ctx.req.headers['content-type']);
    const declared = Number(ctx.req.headers['content-length'] ?? 0);
    // Checked before admission so an oversized body is a 413, not a 429.
    if (declared > deps.limits.maxBodyBytes) throw new PayloadTooLargeError(deps.limits.maxBodyBytes, 'body');
    if (deps.shedder?.shouldRefuse()) throw new OverloadedError('collector is saturated', 429, 1);
    const ticket = budget.admit(Number.isFinite(declared) ? declared : 0);
    try {
      let counted = 0;
      const raw = await readRawBody(ctx.req, {
        maxBytes: deps.limits.maxBodyBytes,
        onBytes: (n) => {
          // Bytes beyond the declared length (chunked bodies) take budget as they arrive.
          counted += n;
          if (counted > declared) ticket.add(Math.min(n, counted - declared));
        },
      });
      const body = await decodeContentEncoding(ctx.req, raw, deps.limits.maxBodyBytes);
      if (body !== raw) ticket.add(body.length);
      const request = decodeRequest(body, format);
      const result = normalizeRequest(request, { messagingOnly: deps.sink.messagingOnly });
      metrics.spansReceived.inc({ source: 'otlp' }, result.received);
      if (result.rejected > 0) metrics.spansDropped.inc({ reason: 'invalid' }, result.rejected);
      await deps.sink.accept(result.spans);
      deps.forward?.(request, body.length);
      metrics.lastSuccess.set({ source: 'otlp' }, Date.now() / 1000);
      const response = encodeResponse(
        format,
        result.rejected > 0
          ? { rejectedSpans: result.rejected, errorMessage: result.firstError ?? '' }
          : undefined,
      );
      ctx.res.writeHead(200, {
        'content-type': response.contentType,
        'content-length': response.body.length,
      });
      ctx.res.end(response.body);
    } finally {
      ticket.release();
    }
  }

  return [
    {
      method: 'POST',
      path: OTLP_TRACES_PATH,
      auth: true,
      handle,
      errorBody: (ctx, _code, message, status) => encodeErrorStatus(formatOf(ctx), status, message),
    },
  ];
}
