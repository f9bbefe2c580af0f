/**
 * Received SQS messages whose outcome is not known yet. A delivery is settled by `DeleteMessage(Batch)`
 * (`ack`), `ChangeMessageVisibility(Batch)` to 0 (`requeue`), the processing helper (`retry` with the
 * handler's error), or the next receive of the same message ID (its visibility timed out: `retry`).
 * One table for every instrumented client, so a message received through one and deleted through
 * another still settles. Bounded: entries end unsettled after their settle timeout, and beyond
 * `MAX_OPEN` the oldest are abandoned.
 */
import { type Delivery, HoptraceError, type Outcome } from '../transport/index.js';

export interface OpenDelivery {
  readonly delivery: Delivery;
  readonly receiptHandle: string;
  readonly messageId: string | undefined;
  readonly queueUrl: string;
  readonly expiresAt: number;
}

const MAX_OPEN = 10_000;
const SWEEP_MS = 5_000;

/** By receipt handle, in insertion (= expiry, for one timeout) order. */
const byReceipt = new Map<string, OpenDelivery>();
const byMessageId = new Map<string, OpenDelivery>();
const byMessage = new WeakMap<object, OpenDelivery>();
let sweeper: NodeJS.Timeout | undefined;

/** The visibility timeout ran out: SQS delivers the message again. */
export class VisibilityTimeoutExpired extends HoptraceError {
  override name = 'VisibilityTimeoutExpired';

  constructor() {
    // `error.type` stays the class name, as before it had a code.
    super('HOPTRACE_SQS_VISIBILITY_TIMEOUT_EXPIRED', 'visibility timeout expired', {
      retriable: true,
      errorType: 'VisibilityTimeoutExpired',
    });
  }
}

export function openDeliveryOf(message: unknown): OpenDelivery | undefined {
  if (!message || typeof message !== 'object') return undefined;
  const open = byMessage.get(message);
  return open && byReceipt.get(open.receiptHandle) === open ? open : undefined;
}

export function track(message: object, open: OpenDelivery): void {
  const previous = open.messageId === undefined ? undefined : byMessageId.get(open.messageId);
  if (previous) {
    // Received again before anyone settled it: the earlier attempt's visibility timed out.
    remove(previous);
    previous.delivery.settle('retry', { error: new VisibilityTimeoutExpired() });
  }
  const stale = byReceipt.get(open.receiptHandle);
  if (stale) remove(stale);
  byReceipt.set(open.receiptHandle, open);
  if (open.messageId !== undefined) byMessageId.set(open.messageId, open);
  byMessage.set(message, open);
  while (byReceipt.size > MAX_OPEN) {
    const oldest = byReceipt.values().next().value as OpenDelivery;
    remove(oldest);
    oldest.delivery.abandon('too many unsettled SQS messages');
  }
  if (!sweeper) {
    sweeper = setInterval(sweep, SWEEP_MS);
    sweeper.unref();
  }
}

/** Settles the delivery of `receiptHandle`, if one is open. */
export function settleReceipt(
  receiptHandle: unknown,
  outcome: Outcome,
  detail?: { error?: unknown },
): boolean {
  if (typeof receiptHandle !== 'string') return false;
  const open = byReceipt.get(receiptHandle);
  if (!open) return false;
  remove(open);
  open.delivery.settle(outcome, detail);
  return true;
}

export function settleOpen(open: OpenDelivery, outcome: Outcome, detail?: { error?: unknown }): void {
  remove(open);
  open.delivery.settle(outcome, detail);
}

function remove(open: OpenDelivery): void {
  if (byReceipt.get(open.receiptHandle) === open) byReceipt.delete(open.receiptHandle);
  if (open.messageId !== undefined && byMessageId.get(open.messageId) === open)
    byMessageId.delete(open.messageId);
}

/** Ends deliveries nobody settled within their timeout. */
export function sweep(now = Date.now()): void {
  for (const open of [...byReceipt.values()]) {
    if (open.expiresAt > now) continue;
    remove(open);
    open.delivery.abandon('not settled within the settle timeout');
  }
  if (byReceipt.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** Open deliveries (tests). */
export function openCount(): number {
  return byReceipt.size;
}
