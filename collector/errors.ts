/**
 * Typed collector errors, extending the core's HoptraceError. Every failure the collector reports has a stable `code`
 * (`HOPTRACE_COLLECTOR_<REASON>`), says whether retrying can help, keeps its `cause`, and, where it
 * answers an HTTP request, carries the status (and `Retry-After`) it maps to. The mapping to a
 * response happens in one place: `toErrorResponse`.
 */
import { HoptraceError, type HoptraceErrorOptions, isHoptraceError } from '../instrumentation/core/errors.js';

export { HoptraceError, isHoptraceError };

export interface CollectorErrorOptions extends HoptraceErrorOptions {
  httpStatus?: number;
  /** Seconds the client should wait before retrying (429/503). */
  retryAfter?: number;
}

/** A collector error that may answer an HTTP request: the core's HoptraceError plus status and Retry-After. */
export class CollectorError extends HoptraceError {
  override name = 'CollectorError';
  readonly httpStatus: number | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: string, message: string, options: CollectorErrorOptions = {}) {
    super(code, message, options);
    this.httpStatus = options.httpStatus;
    this.retryAfter = options.retryAfter;
  }
}

/** Invalid `startCollector` options or CLI flags: startup fails. */
export class ConfigError extends CollectorError {
  override name = 'ConfigError';
  constructor(message: string) {
    super('HOPTRACE_COLLECTOR_INVALID_CONFIG', message);
  }
}

/** The request body is not a valid OTLP export request (bad protobuf, JSON, gzip or shape). */
export class MalformedRequestError extends CollectorError {
  override name = 'MalformedRequestError';
  constructor(message: string, cause?: unknown) {
    super('HOPTRACE_COLLECTOR_MALFORMED_REQUEST', message, { httpStatus: 400, cause });
  }
}

export class UnauthorizedError extends CollectorError {
  override name = 'UnauthorizedError';
  constructor() {
    super('HOPTRACE_COLLECTOR_UNAUTHORIZED', 'missing or wrong bearer token', { httpStatus: 401 });
  }
}

export class NotFoundError extends CollectorError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super('HOPTRACE_COLLECTOR_NOT_FOUND', message, { httpStatus: 404 });
  }
}

export class MethodNotAllowedError extends CollectorError {
  override name = 'MethodNotAllowedError';
  readonly allow: string;
  constructor(allow: string) {
    super('HOPTRACE_COLLECTOR_METHOD_NOT_ALLOWED', `method not allowed; use ${allow}`, { httpStatus: 405 });
    this.allow = allow;
  }
}

/** Body larger than `limits.maxBodyBytes`, before or after decompression. */
export class PayloadTooLargeError extends CollectorError {
  override name = 'PayloadTooLargeError';
  constructor(limit: number, stage: 'body' | 'decompressed') {
    super('HOPTRACE_COLLECTOR_PAYLOAD_TOO_LARGE', `${stage} exceeds the ${limit}-byte limit`, {
      httpStatus: 413,
    });
  }
}

export class UnsupportedMediaTypeError extends CollectorError {
  override name = 'UnsupportedMediaTypeError';
  constructor(what: string) {
    super('HOPTRACE_COLLECTOR_UNSUPPORTED_MEDIA_TYPE', what, { httpStatus: 415 });
  }
}

/**
 * The collector is over its ingest budget (429) or cannot take work right now, e.g. while closing (503).
 * Excess requests are answered with this, never buffered.
 */
export class OverloadedError extends CollectorError {
  override name = 'OverloadedError';
  constructor(message: string, status: 429 | 503, retryAfter: number) {
    super('HOPTRACE_COLLECTOR_OVERLOADED', message, { httpStatus: status, retryAfter, retriable: true });
  }
}

/** The forward target refused or could not take a batch. */
export class ForwardError extends CollectorError {
  override name = 'ForwardError';
  constructor(message: string, options: { retriable: boolean; retryAfter?: number; cause?: unknown }) {
    super('HOPTRACE_COLLECTOR_FORWARD_FAILED', message, options);
  }
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  /** The message sent to the client: never internals of unexpected errors. */
  message: string;
  code: string;
}

/** The one place that turns an error into an HTTP answer. Unknown errors become a plain 500. */
export function toErrorResponse(err: unknown): ErrorResponse {
  if (err instanceof CollectorError && err.httpStatus !== undefined) {
    const headers: Record<string, string> = {};
    if (err.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfter)));
    if (err instanceof MethodNotAllowedError) headers.allow = err.allow;
    if (err instanceof UnauthorizedError) headers['www-authenticate'] = 'Bearer';
    // After a 413 or 429 the rest of the body is not read; closing the connection saves draining it.
    if (err.httpStatus === 413 || err.httpStatus === 429 || err.httpStatus === 503)
      headers.connection = 'close';
    return { status: err.httpStatus, headers, message: err.message, code: err.code };
  }
  return { status: 500, headers: {}, message: 'internal error', code: 'HOPTRACE_COLLECTOR_INTERNAL' };
}
