/** Errors hoptrace/pubsub records on spans (it never throws them at callers). */

/**
 * Recorded on a delivery whose lease ran out (the client stopped extending it after
 * `maxExtensionTime` without an ack or nack): Pub/Sub will deliver the message again, or dead-letter it.
 */
export class PubSubLeaseExpiredError extends Error {
  readonly code = 'HOPTRACE_PUBSUB_LEASE_EXPIRED';

  constructor(subscription: string, leaseMs: number) {
    super(`message lease on ${subscription} expired after ${leaseMs} ms without ack or nack`);
    this.name = 'PubSubLeaseExpiredError';
  }
}
