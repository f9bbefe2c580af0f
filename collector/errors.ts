/**
 * Typed collector errors. Every failure the collector reports has a stable `code`
 * (`HOPTRACE_COLLECTOR_<REASON>`), says whether retrying can help, keeps its `cause`, and, where it
 * answers an HTTP request, carries the status (and `Retry-After`) it maps to. The mapping to a
 * response happens in one place: `toErrorResponse`.
 */

export interface HoptraceErrorOptions {
  cause?: unknown;
  retriable?: boolean;
  httpStatus?: number;
  /** Seconds the client should wait before retrying (429/503). */
  retryAfter?: number;
}

export class HoptraceError extends Error {
  override name = 'HoptraceError';
  readonly code: string;
  readonly retriable: boolean;
  readonly httpStatus: number | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: string, message: string, options: HoptraceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.httpStatus = options.httpStatus;
    this.retryAfter = options.retryAfter;
  }
}

/** Invalid `startCollector` options or CLI flags: startup fails. */
export class ConfigError extends HoptraceError {
  override name = 'ConfigError';
  constructor(message: string) {
    super('HOPTRACE_COLLECTOR_INVALID_CONFIG', message);
  }
}

/** The request body is not a valid OTLP export request (bad protobuf, JSON, gzip or shape). */
export class MalformedRequestError extends HoptraceError {
  override name = 'MalformedRequestError';
  constructor(message: string, cause?: unknown) {
    super('HOPTRACE_COLLECTOR_MALFORMED_REQUEST', message, { httpStatus: 400, cause });
  }
}

export class UnauthorizedError extends HoptraceError {
  override name = 'UnauthorizedError';
  constructor() {
    super('HOPTRACE_COLLECTOR_UNAUTHORIZED', 'missing or wrong bearer token', { httpStatus: 401 });
  }
}

export class NotFoundError extends HoptraceError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super('HOPTRACE_COLLECTOR_NOT_FOUND', message, { httpStatus: 404 });
  }
}

export class MethodNotAllowedError extends HoptraceError {
  override name = 'MethodNotAllowedError';
  readonly allow: string;
  constructor(allow: string) {
    super('HOPTRACE_COLLECTOR_METHOD_NOT_ALLOWED', `method not allowed; use ${allow}`, { httpStatus: 405 });
    this.allow = allow;
  }
}

/** Body larger than `limits.maxBodyBytes`, before or after decompression. */
export class PayloadTooLargeError extends HoptraceError {
  override name = 'PayloadTooLargeError';
  constructor(limit: number, stage: 'body' | 'decompressed') {
    super('HOPTRACE_COLLECTOR_PAYLOAD_TOO_LARGE', `${stage} exceeds the ${limit}-byte limit`, {
      httpStatus: 413,
    });
  }
}

export class UnsupportedMediaTypeError extends HoptraceError {
  override name = 'UnsupportedMediaTypeError';
  constructor(what: string) {
    super('HOPTRACE_COLLECTOR_UNSUPPORTED_MEDIA_TYPE', what, { httpStatus: 415 });
  }
}

/**
 * The collector is over its ingest budget (429) or cannot take work right now, e.g. while closing (503).
 * Excess requests are answered with this, never buffered.
 */
export class OverloadedError extends HoptraceError {
  override name = 'OverloadedError';
  constructor(message: string, status: 429 | 503, retryAfter: number) {
    super('HOPTRACE_COLLECTOR_OVERLOADED', message, { httpStatus: status, retryAfter, retriable: true });
  }
}

/** The forward target refused or could not take a batch. */
export class ForwardError extends HoptraceError {
  override name = 'ForwardError';
  constructor(message: string, options: { retriable: boolean; retryAfter?: number; cause?: unknown }) {
    super('HOPTRACE_COLLECTOR_FORWARD_FAILED', message, options);
  }
}

export function isHoptraceError(err: unknown): err is HoptraceError {
  return err instanceof HoptraceError;
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
  if (isHoptraceError(err) && err.httpStatus !== undefined) {
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
