/**
 * Answers excess ingest early when the collector's event loop is saturated. A flood of connections
 * never trips the in-progress limits: each request is only seen once its turn comes, after the ones
 * queued before it, so clients wait in socket queues until they time out. Measuring how busy the event
 * loop was and refusing a growing share of requests (429 before the body is decoded, which costs almost
 * nothing) keeps answers fast and the work admitted at what one core sustains.
 */
import { performance } from 'node:perf_hooks';

export interface LoadShedderOptions {
  /** Event-loop utilization (percent of wall time busy) above which requests start being refused. 100 = never. */
  busyPercent: number;
  /** How often utilization is sampled. Default 250 ms. */
  intervalMs?: number;
  /** Utilization (0..1) since the previous call; default from `performance.eventLoopUtilization`. */
  utilization?: () => number;
}

/** Each sample above the threshold refuses this much more of the traffic; each calm one, this much less. */
const STEP = 0.15;
const MAX_SHARE = 0.95;
/** Below threshold minus this margin the share decays: no flapping right at the threshold. */
const CALM_MARGIN = 0.15;

export class LoadShedder {
  private share = 0;
  private credit = 0;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly threshold: number;
  private readonly utilization: () => number;

  constructor(options: LoadShedderOptions) {
    this.threshold = options.busyPercent / 100;
    this.utilization = options.utilization ?? eventLoopUtilization();
    if (options.busyPercent < 100) {
      this.timer = setInterval(() => this.sample(), options.intervalMs ?? 250);
      this.timer.unref();
    }
  }

  /** The share of requests currently refused (0..0.95). */
  get refusedShare(): number {
    return this.share;
  }

  /** Takes one utilization sample and adjusts the refused share. */
  sample(): void {
    const busy = this.utilization();
    if (busy > this.threshold) this.share = Math.min(MAX_SHARE, this.share + STEP);
    else if (busy < this.threshold - CALM_MARGIN) this.share = Math.max(0, this.share - STEP);
    if (this.share === 0) this.credit = 0;
  }

  /** Whether to refuse this request. Deterministic: exactly `share` of the requests, evenly spread. */
  shouldRefuse(): boolean {
    if (this.share === 0) return false;
    this.credit += this.share;
    if (this.credit < 1 - 1e-9) return false; // tolerance: shares are sums of 0.15 steps
    this.credit -= 1;
    return true;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

function eventLoopUtilization(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    last = now;
    return utilization;
  };
}
