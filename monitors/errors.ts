import { HoptraceError } from '../instrumentation/core/errors.js';

/** A broker monitor could not read broker state (network, HTTP status, unexpected body). */
export class MonitorError extends HoptraceError {
  override name = 'MonitorError';
  constructor(source: string, message: string, cause?: unknown) {
    super('HOPTRACE_COLLECTOR_MONITOR_FAILED', `${source}: ${message}`, { retriable: true, cause });
  }
}
