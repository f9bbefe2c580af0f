/**
 * Errors hoptrace records on spans for broker-side failures of a publish. They are never thrown into
 * user code (amqplib's own error objects reach the caller unchanged); their `code` becomes `error.type`.
 */

/** The broker returned a `mandatory` message it could not route. `code` is the broker's reply text. */
export class MessageReturnedError extends Error {
  override readonly name = 'MessageReturnedError';
  readonly code: string;
  readonly replyCode: number | undefined;

  constructor(replyCode: unknown, replyText: unknown) {
    const text = typeof replyText === 'string' && replyText.length > 0 ? replyText : 'RETURNED';
    super(`message returned by the broker: ${text}`);
    this.code = text.slice(0, 64);
    this.replyCode = typeof replyCode === 'number' ? replyCode : undefined;
  }
}

/** A publisher confirm that failed: the broker nacked the message (`nack`) or the channel closed first. */
export class ConfirmFailedError extends Error {
  override readonly name = 'ConfirmFailedError';
  readonly code: 'nack' | 'channel_closed' | 'confirm_failed';

  constructor(cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`publisher confirm failed: ${message}`, { cause });
    // amqplib's wording for the two failures it reports.
    if (message === 'message nacked') this.code = 'nack';
    else if (message === 'channel closed') this.code = 'channel_closed';
    else this.code = 'confirm_failed';
  }
}
