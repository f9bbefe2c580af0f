/**
 * When each high watermark of a partition was first seen: the fallback for lag in seconds when the
 * record at the committed offset cannot be read (deleted by retention, or no reader).
 */

const HISTORY_SAMPLES = 256;

interface Sample {
  high: bigint;
  at: number;
}

export class WatermarkHistory {
  private readonly samples = new Map<string, Sample[]>();

  /** Notes `high` at `at`; keeps the first time each high watermark was seen: that is when its records existed. */
  record(partitionKey: string, high: bigint, at: number): void {
    let samples = this.samples.get(partitionKey);
    if (!samples) {
      samples = [];
      this.samples.set(partitionKey, samples);
    }
    const last = samples[samples.length - 1];
    if (!last || last.high !== high) samples.push({ high, at });
    if (samples.length > HISTORY_SAMPLES) samples.splice(0, samples.length - HISTORY_SAMPLES);
  }

  /** When record `offset` was appended (linear between samples); the oldest sample when it is older than the history. */
  appendedAt(partitionKey: string, offset: bigint): number | undefined {
    const samples = this.samples.get(partitionKey);
    if (!samples || samples.length === 0) return undefined;
    const first = samples[0] as Sample;
    if (offset < first.high) return first.at; // older than the history: a lower bound of its age
    for (let i = 1; i < samples.length; i++) {
      const before = samples[i - 1] as Sample;
      const after = samples[i] as Sample;
      if (offset >= before.high && offset < after.high) {
        const fraction = Number(offset - before.high + 1n) / Number(after.high - before.high);
        return before.at + fraction * (after.at - before.at);
      }
    }
    return undefined;
  }
}
