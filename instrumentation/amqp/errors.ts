/**
 * Errors hoptrace records on spans for broker-side failures of a publish. They are never thrown into
 * user code (amqplib's own error objects reach the caller unchanged). Their `code` is hoptrace's
 * (`HOPTRACE_AMQP_*`); their `errorType` is the broker's reason, which becomes `error.type`.
 */
import { HoptraceError } from '../transport/index.js';

/** The broker returned a `mandatory` message it could not route. `errorType` is the broker's reply text. */
export class MessageReturnedError extends HoptraceError {
  override name = 'MessageReturnedError';
  readonly replyCode: number | undefined;
  declare readonly errorType: string;

  constructor(replyCode: unknown, replyText: unknown) {
    const text = typeof replyText === 'string' && replyText.length > 0 ? replyText : 'RETURNED';
    super('HOPTRACE_AMQP_MESSAGE_RETURNED', `message returned by the broker: ${text}`, {
      errorType: text.slice(0, 64),
    });
    this.replyCode = typeof replyCode === 'number' ? replyCode : undefined;
  }
}

/**
 * A publisher confirm that failed: the broker nacked the message (`errorType` `nack`) or the channel
 * closed first (`channel_closed`); retriable, the message may not have reached the broker.
 */
export class ConfirmFailedError extends HoptraceError {
  override name = 'ConfirmFailedError';
  declare readonly errorType: 'nack' | 'channel_closed' | 'confirm_failed';

  constructor(cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super('HOPTRACE_AMQP_CONFIRM_FAILED', `publisher confirm failed: ${message}`, {
      cause,
      retriable: true,
      // amqplib's wording for the two failures it reports.
      errorType:
        message === 'message nacked'
          ? 'nack'
          : message === 'channel closed'
            ? 'channel_closed'
            : 'confirm_failed',
    });
  }
}
