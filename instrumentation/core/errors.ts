/**
 * The one error base of hoptrace, as kafkajs has one: every error hoptrace creates (the collector's,
 * the bus's, the AMQP wrapper's) extends `HoptraceError`, with a stable `code` (`HOPTRACE_<AREA>_<REASON>`),
 * whether retrying can help (`retriable`), and the `cause` it wraps.
 */

export interface HoptraceErrorOptions {
  cause?: unknown;
  /** Whether the same call may succeed later (a full queue, a broker that is down); default false. */
  retriable?: boolean;
  /**
   * The `error.type` spans and metrics record for this error, when it is not the code: a broker's own
   * reason (`NO_ROUTE`, `nack`) says more on a dashboard than hoptrace's code.
   */
  errorType?: string;
}

export class HoptraceError extends Error {
  override name = 'HoptraceError';
  /** `HOPTRACE_<AREA>_<REASON>`; stable across versions. */
  readonly code: string;
  readonly retriable: boolean;
  /** See {@link HoptraceErrorOptions.errorType}; undefined: `code`. */
  readonly errorType: string | undefined;

  constructor(code: string, message: string, options: HoptraceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.errorType = options.errorType;
  }
}

export function isHoptraceError(err: unknown): err is HoptraceError {
  return err instanceof HoptraceError;
}
