/**
 * Prints a journey as a text tree: each publish, the deliveries of its message per consumer group
 * (hop latency, outcome, attempts, dead letters, duplicates) and, under each delivery, the
 * publishes made while handling it. Used by `hoptrace journey` and `hoptrace demo`.
 */
import type { Journey, JourneyAttempt, JourneyDelivery, JourneyPublish } from '../types.js';

export interface RenderOptions {
  /** Show trace and span IDs. Default false. */
  ids?: boolean;
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '?';
  const abs = Math.abs(ms);
  if (abs < 1) return `${ms.toFixed(2)} ms`;
  if (abs < 100) return `${ms.toFixed(1)} ms`;
  if (abs < 10_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

function clock(iso: string): string {
  return iso.slice(11, 23);
}

function publishLine(p: JourneyPublish, options: RenderOptions): string {
  const parts = [`${p.service} published ${p.destination}`];
  if (p.routingKey !== undefined && p.routingKey !== p.destination) parts.push(`(key ${p.routingKey})`);
  parts.push(`[${p.system}]`);
  if (p.messageId !== undefined) parts.push(`msg ${p.messageId}`);
  parts.push(`at ${clock(p.time)}`);
  if (options.ids) parts.push(`trace ${p.traceId} span ${p.spanId}`);
  if (p.unconsumed) parts.push('UNCONSUMED (no delivery before the deadline)');
  return parts.join('  ');
}

function attemptLine(a: JourneyAttempt, options: RenderOptions): string {
  const parts = [
    `attempt ${a.attempt}: ${a.outcome ?? 'no outcome'}`,
    `+${formatMs(a.latencyMs)}`,
    `took ${formatMs(a.durationMs)}`,
  ];
  if (a.errorType) parts.push(a.errorType);
  if (a.duplicate) parts.push('DUPLICATE');
  if (options.ids) parts.push(`trace ${a.traceId} span ${a.spanId}`);
  return parts.join('  ');
}

function deliveryLine(d: JourneyDelivery, options: RenderOptions): string {
  const parts = [`${d.service} (${d.group}) <- ${d.destination}`];
  if (d.hopLatencyMs !== undefined) parts.push(`+${formatMs(d.hopLatencyMs)}`);
  parts.push(d.outcome ?? 'no outcome');
  if (d.retries > 0) parts.push(`after ${d.retries} ${d.retries === 1 ? 'retry' : 'retries'}`);
  if (d.deadLetter && d.deadLetterQueue) {
    parts.push(
      `from the dead-letter queue (${d.deadLetter.reason ?? 'unknown reason'}${d.deadLetter.source ? ` in ${d.deadLetter.source}` : ''})`,
    );
  } else if (d.deadLetter) {
    parts.push(`dead-lettered (${d.deadLetter.reason ?? 'unknown reason'})`);
  }
  const duplicates = d.attempts.filter((a) => a.duplicate).length;
  if (duplicates > 0) parts.push(`${duplicates} duplicate${duplicates === 1 ? '' : 's'}`);
  const via = d.attempts[0]?.matchedBy;
  if (via && via !== 'parent') parts.push(`linked by ${via.replace('_', ' ')}`);
  if (options.ids && d.attempts.length === 1)
    parts.push(`trace ${d.attempts[0].traceId} span ${d.attempts[0].spanId}`);
  return parts.join('  ');
}

interface Node {
  line: string;
  children: Node[];
}

function publishNode(p: JourneyPublish, options: RenderOptions): Node {
  return { line: publishLine(p, options), children: p.deliveries.map((d) => deliveryNode(d, options)) };
}

function deliveryNode(d: JourneyDelivery, options: RenderOptions): Node {
  const children: Node[] = [];
  if (d.attempts.length > 1) {
    for (const a of d.attempts) children.push({ line: attemptLine(a, options), children: [] });
  }
  for (const p of d.publishes) children.push(publishNode(p, options));
  return { line: deliveryLine(d, options), children };
}

function draw(node: Node, prefix: string, last: boolean, out: string[], root: boolean): void {
  out.push(root ? node.line : `${prefix}${last ? '└─ ' : '├─ '}${node.line}`);
  const childPrefix = root ? '' : `${prefix}${last ? '   ' : '│  '}`;
  node.children.forEach((child, i) => {
    draw(child, childPrefix, i === node.children.length - 1, out, false);
  });
}

export function renderJourney(journey: Journey, options: RenderOptions = {}): string {
  const c = journey.counts;
  const title = journey.messageId
    ? `Message ${journey.messageId}${journey.correlationId ? ` (correlation ${journey.correlationId})` : ''}`
    : `Journey ${journey.correlationId ?? '(no correlation ID)'}`;
  const summary = [
    `${c.publishes} publish${c.publishes === 1 ? '' : 'es'}`,
    `${c.deliveries} deliver${c.deliveries === 1 ? 'y' : 'ies'}`,
  ];
  if (c.retries) summary.push(`${c.retries} retr${c.retries === 1 ? 'y' : 'ies'}`);
  if (c.deadLetters) summary.push(`${c.deadLetters} dead-lettered`);
  if (c.duplicates) summary.push(`${c.duplicates} duplicate${c.duplicates === 1 ? '' : 's'}`);
  if (c.unconsumed) summary.push(`${c.unconsumed} unconsumed`);
  if (c.orphans) summary.push(`${c.orphans} orphan${c.orphans === 1 ? '' : 's'}`);
  const out = [`${title}: ${summary.join(', ')}`];
  for (const p of journey.publishes) draw(publishNode(p, options), '', true, out, true);
  if (journey.orphans.length > 0) {
    out.push('Deliveries whose publish was not seen:');
    for (const d of journey.orphans) draw(deliveryNode(d, options), '', true, out, true);
  }
  if (journey.truncated) out.push('(truncated: the journey has more entries than the collector keeps)');
  return out.join('\n');
}
