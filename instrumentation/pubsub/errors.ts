/** Errors hoptrace/pubsub records on spans (it never throws them at callers). */

import { HoptraceError } from '../transport/index.js';

/**
 * Recorded on a delivery whose lease ran out (the client stopped extending it after
 * `maxExtensionTime` without an ack or nack): Pub/Sub will deliver the message again, or dead-letter it.
 */
export class PubSubLeaseExpiredError extends HoptraceError {
  override name = 'PubSubLeaseExpiredError';

  constructor(subscription: string, leaseMs: number) {
    // `error.type` stays the code; Pub/Sub delivers the message again.
    super(
      'HOPTRACE_PUBSUB_LEASE_EXPIRED',
      `message lease on ${subscription} expired after ${leaseMs} ms without ack or nack`,
      { retriable: true },
    );
  }
}
