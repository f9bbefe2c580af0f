/**
 * Runs monitors: a poll right away, then one every `intervalMs` after the previous one finished (polls
 * never overlap), each bounded by its interval. A reading goes to the broker gauges (./gauges.ts);
 * success sets `hoptrace_collector_up{source}=1` and the last-success time; failure sets up to 0 and
 * logs once per failure streak. Nothing thrown escapes.
 */
import { type DiagLogger, diag } from '@opentelemetry/api';
import { type MonitorMetrics, ReadingRecorder } from './gauges.js';
import type { Monitor } from './types.js';

const defaultLogger = diag.createComponentLogger({ namespace: 'hoptrace/monitors' });

export class MonitorRunner {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly state = new Map<string, 'up' | 'down'>();
  private readonly recorders = new Map<Monitor, ReadingRecorder>();
  /** When each monitor's last poll started (epoch ms). */
  private readonly polledAt = new Map<Monitor, number>();

  constructor(
    private readonly monitors: Monitor[],
    private readonly metrics: MonitorMetrics,
    private readonly logger: DiagLogger = defaultLogger,
  ) {
    for (const monitor of monitors) this.recorders.set(monitor, new ReadingRecorder(metrics));
  }

  start(): void {
    for (const monitor of this.monitors) this.schedule(monitor, 0);
  }

  /** Per-source state for /readyz. */
  sources(): Record<string, 'up' | 'down'> {
    return Object.fromEntries(this.state);
  }

  /** Polls every monitor once now; resolves when all finished (tests, the CLI's first output). */
  async pollAll(): Promise<void> {
    await Promise.all(this.monitors.map((m) => this.pollOnce(m)));
  }

  /**
   * Before a scrape: polls the monitors that ask for it (`refreshOnScrapeMs`) and whose last poll is
   * older than that; resolves when they finished or after `timeoutMs`, whichever comes first.
   */
  async refreshStale(timeoutMs: number): Promise<void> {
    const now = Date.now();
    const stale = this.monitors.filter(
      (m) =>
        m.refreshOnScrapeMs !== undefined &&
        now - (this.polledAt.get(m) ?? Number.NEGATIVE_INFINITY) > m.refreshOnScrapeMs,
    );
    if (stale.length === 0 || this.abort.signal.aborted) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    await Promise.race([Promise.all(stale.map((m) => this.pollOnce(m))), timeout]);
    clearTimeout(timer);
  }

  private schedule(monitor: Monitor, delayMs: number): void {
    if (this.abort.signal.aborted) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const run = this.pollOnce(monitor).finally(() => {
        this.running.delete(run);
        this.schedule(monitor, monitor.intervalMs);
      });
      this.running.add(run);
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  private async pollOnce(monitor: Monitor): Promise<void> {
    this.polledAt.set(monitor, Date.now());
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(monitor.intervalMs)]);
    try {
      const reading = await monitor.poll(signal);
      if (reading) {
        this.recorders.get(monitor)?.record(reading);
        if (reading.error) throw reading.error;
      }
      this.succeeded(monitor.source);
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.failed(monitor.source, err);
    }
  }

  private succeeded(source: string): void {
    this.metrics.up.set({ source }, 1);
    this.metrics.lastSuccess.set({ source }, Date.now() / 1000);
    if (this.state.get(source) === 'down') this.logger.info(`${source} monitor recovered`);
    this.state.set(source, 'up');
  }

  private failed(source: string, err: unknown): void {
    this.metrics.up.set({ source }, 0);
    if (this.state.get(source) !== 'down') {
      this.logger.warn(`${source} monitor failed: ${(err as Error).message}`);
    }
    this.state.set(source, 'down');
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
    await Promise.allSettled(this.monitors.map((m) => m.close?.()));
  }
}
