/** Number and time formatting shared by the views. */

export function ms(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '?';
  const abs = Math.abs(value);
  if (abs < 1) return `${value.toFixed(2)} ms`;
  if (abs < 100) return `${value.toFixed(1)} ms`;
  if (abs < 10_000) return `${Math.round(value)} ms`;
  return `${(value / 1000).toFixed(1)} s`;
}

export function rate(perSecond: number): string {
  if (perSecond === 0) return '0/s';
  if (perSecond < 0.1) return `${(perSecond * 60).toFixed(1)}/min`;
  if (perSecond < 10) return `${perSecond.toFixed(2)}/s`;
  return `${Math.round(perSecond)}/s`;
}

export function percent(share: number): string {
  if (share === 0) return '0%';
  if (share < 0.01) return '<1%';
  return `${Math.round(share * 100)}%`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function clock(iso: string): string {
  return iso.slice(11, 23);
}

/** Long names shortened for boxes; the full text stays in the tooltip. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
