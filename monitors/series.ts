/**
 * Tracks the label sets a monitor set on a gauge in its last poll, so series of queues or
 * partitions that disappeared are removed instead of reporting their last value forever. Several
 * monitors can share one gauge (e.g. consumer lag from RabbitMQ and Kafka); each removes only its own.
 */
import type { Gauge } from 'prom-client';

export class GaugeSeries<T extends string> {
  private previous = new Map<string, Partial<Record<T, string>>>();
  private current = new Map<string, Partial<Record<T, string>>>();

  constructor(
    private readonly gauge: Gauge<T>,
    /** Called for each series removed (e.g. to stop it aging). */
    private readonly onRemove?: (labels: Partial<Record<T, string>>) => void,
  ) {}

  set(labels: Partial<Record<T, string>>, value: number): void {
    this.gauge.set(labels, value);
    this.current.set(JSON.stringify(Object.entries(labels).sort()), labels);
  }

  /** Ends a poll: removes series set in the previous poll but not in this one. */
  commit(): void {
    for (const [key, labels] of this.previous) {
      if (this.current.has(key)) continue;
      this.gauge.remove(labels);
      this.onRemove?.(labels);
    }
    this.previous = this.current;
    this.current = new Map();
  }
}
