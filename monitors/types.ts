/**
 * A broker monitor reads broker state on an interval and sets gauges. The runner (./runner.ts)
 * schedules polls, bounds them in time, and turns failures into `hoptrace_collector_up{source}=0`
 * instead of errors: a broken monitor never stops the collector.
 */
export interface Monitor {
  /** `source` label of `hoptrace_collector_up` and `..._last_success_timestamp_seconds`. */
  readonly source: string;
  readonly intervalMs: number;
  /** One poll: read the broker and update metrics. Throws (a `MonitorError`) when it cannot. */
  poll(signal: AbortSignal): Promise<void>;
  /** Releases clients; called once when the collector closes. */
  close?(): Promise<void>;
}
