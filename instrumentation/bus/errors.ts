/** Errors the bus raises to its callers: HoptraceErrors with a stable `HOPTRACE_BUS_*` code. */
import { HoptraceError } from '../transport/index.js';

export class BusError extends HoptraceError {
  constructor(message: string, code: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(code, message, options);
    this.name = new.target.name;
  }
}

/** A topic or pattern that cannot be used. */
export class InvalidTopicError extends BusError {
  constructor(message: string) {
    super(message, 'HOPTRACE_BUS_INVALID_TOPIC');
  }
}

/** `publish` on a closed (or closing) bus. */
export class BusClosedError extends BusError {
  constructor(busName: string) {
    super(`bus "${busName}" is closed; no more messages are accepted`, 'HOPTRACE_BUS_CLOSED');
  }
}

/** A subscription queue is full and its overflow policy is `'reject'`. Nothing was enqueued; retriable. */
export class BusOverflowError extends BusError {
  constructor(
    readonly topic: string,
    readonly subscription: string,
    readonly maxQueueSize: number,
  ) {
    super(
      `cannot publish to "${topic}": the queue of subscription "${subscription}" is full (${maxQueueSize} messages) and its overflow policy is 'reject'`,
      'HOPTRACE_BUS_OVERFLOW',
      { retriable: true },
    );
  }
}
