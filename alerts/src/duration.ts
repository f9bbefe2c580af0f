/**
 * Prometheus durations ("90s", "1h30m", "3d") as numbers of seconds, so the test variant of the rules
 * can scale every `for` and window by one factor and still write valid durations.
 */

const UNIT_SECONDS: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };
const PART = /(\d+)(ms|[wdhms])/g;

export function parseDuration(text: string): number {
  if (!/^(\d+(ms|[wdhms]))+$/.test(text)) throw new Error(`not a Prometheus duration: "${text}"`);
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    seconds += unit === 'ms' ? Number(amount) / 1000 : Number(amount) * UNIT_SECONDS[unit];
  }
  return seconds;
}

/** Whole seconds as the shortest Prometheus duration: 5400 -> "1h30m", 0 -> "0s". */
export function formatDuration(totalSeconds: number): string {
  let rest = Math.round(totalSeconds);
  if (rest <= 0) return '0s';
  let out = '';
  for (const unit of ['d', 'h', 'm', 's']) {
    const size = UNIT_SECONDS[unit];
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

/** `duration * factor`, never below `minSeconds`; the factor 1 returns the input unchanged. */
export function scaleDuration(duration: string, factor: number, minSeconds: number): string {
  if (factor === 1) return duration;
  return formatDuration(Math.max(minSeconds, parseDuration(duration) * factor));
}
