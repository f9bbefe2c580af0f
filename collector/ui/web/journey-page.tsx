/**
 * One journey (`/journeys/{correlationId}`): every publish, delivery attempt and dead letter as a
 * waterfall on one time axis, nested as the messages caused each other, with timings, outcomes and
 * links to the traces in Jaeger when a Jaeger URL is configured.
 */
import type { Journey, JourneyAttempt, JourneyDelivery, JourneyPublish } from '../../types.js';
import { count, ms } from './format.js';
import { Link } from './router.js';

type RowKind = 'publish' | 'attempt' | 'dead_letter' | 'orphan';

interface Row {
  key: string;
  kind: RowKind;
  depth: number;
  /** ms since the journey's first event. */
  start: number;
  duration: number;
  title: string;
  details: string[];
  status: 'ok' | 'warn' | 'bad' | 'info';
  traceId?: string;
  spanId?: string;
  attempt?: number;
  outcome?: string;
}

const time = (iso: string): number => Date.parse(iso);

function attemptStatus(a: JourneyAttempt): Row['status'] {
  if (a.outcome === 'dead_letter' || a.outcome === 'reject') return 'bad';
  if (a.errorType !== undefined || a.outcome === 'error' || a.outcome === 'retry' || a.outcome === 'nack')
    return 'warn';
  if (a.duplicate) return 'warn';
  return 'ok';
}

/** The journey as rows in tree order, times relative to its first event. */
export function journeyRows(journey: Journey): { rows: Row[]; total: number } {
  const rows: Row[] = [];
  let t0 = Number.POSITIVE_INFINITY;
  const visitTimes = (p: JourneyPublish) => {
    t0 = Math.min(t0, time(p.time));
    for (const d of p.deliveries) {
      for (const a of d.attempts) t0 = Math.min(t0, time(a.startTime));
      d.publishes.forEach(visitTimes);
    }
  };
  journey.publishes.forEach(visitTimes);
  for (const d of journey.orphans) for (const a of d.attempts) t0 = Math.min(t0, time(a.startTime));
  if (!Number.isFinite(t0)) t0 = 0;

  const attemptRows = (d: JourneyDelivery, depth: number, publishAt: number | undefined, orphan: boolean) => {
    for (const a of d.attempts) {
      // Hop latency is exact (ns clocks); ISO start times carry only milliseconds.
      const start =
        publishAt !== undefined && a.latencyMs !== undefined
          ? publishAt + a.latencyMs
          : time(a.startTime) - t0;
      const details = [`attempt ${a.attempt}`, a.outcome ?? 'no outcome'];
      if (a.latencyMs !== undefined) details.push(`hop +${ms(a.latencyMs)}`);
      details.push(`handled in ${ms(a.durationMs)}`);
      if (a.errorType !== undefined) details.push(`error ${a.errorType}`);
      if (a.duplicate) details.push('duplicate');
      if (a.matchedBy !== undefined && a.matchedBy !== 'parent') details.push(`matched by ${a.matchedBy}`);
      rows.push({
        key: `a:${a.spanId}:${a.attempt}`,
        kind: orphan ? 'orphan' : 'attempt',
        depth,
        start,
        duration: a.durationMs,
        title: `${d.service} ← ${d.destination}${d.group !== d.service ? ` (group ${d.group})` : ''}`,
        details,
        status: orphan ? 'warn' : attemptStatus(a),
        traceId: a.traceId,
        spanId: a.spanId,
        attempt: a.attempt,
        outcome: a.outcome,
      });
      if (a.outcome === 'dead_letter') {
        rows.push({
          key: `dl:${a.spanId}`,
          kind: 'dead_letter',
          depth,
          start: start + a.durationMs,
          duration: 0,
          title: `dead-lettered from ${d.destination}`,
          details: [`reason ${a.deadLetterReason ?? d.deadLetter?.reason ?? 'unknown'}`, `by ${d.service}`],
          status: 'bad',
        });
      }
    }
  };

  const publishRows = (p: JourneyPublish, depth: number) => {
    const at = time(p.time) - t0;
    const details = [p.system];
    if (p.routingKey !== undefined && p.routingKey !== p.destination)
      details.push(`routing key ${p.routingKey}`);
    if (p.messageId !== undefined) details.push(`message ${p.messageId}`);
    if (p.unconsumed) details.push('unconsumed: no delivery before the deadline');
    rows.push({
      key: `p:${p.spanId}`,
      kind: 'publish',
      depth,
      start: at,
      duration: 0,
      title: `${p.service} → ${p.destination}`,
      details,
      status: p.unconsumed ? 'bad' : 'info',
      traceId: p.traceId,
      spanId: p.spanId,
    });
    for (const d of p.deliveries) {
      if (d.deadLetterQueue && d.deadLetter) {
        rows.push({
          key: `dlq:${p.spanId}:${d.destination}:${d.group}`,
          kind: 'dead_letter',
          depth: depth + 1,
          start: d.attempts[0] ? time(d.attempts[0].startTime) - t0 : at,
          duration: 0,
          title: `dead letter in ${d.destination}`,
          details: [`reason ${d.deadLetter.reason ?? 'unknown'}`, `from ${d.deadLetter.source ?? 'unknown'}`],
          status: 'bad',
        });
      }
      attemptRows(d, depth + 1, at, false);
      for (const child of d.publishes) publishRows(child, depth + 2);
    }
  };
  for (const p of journey.publishes) publishRows(p, 0);
  for (const d of journey.orphans) attemptRows(d, 0, undefined, true);
  const total = Math.max(1, ...rows.map((r) => r.start + r.duration));
  return { rows, total };
}

export function JourneyPage(props: { id: string; journey: Journey | undefined | null; jaegerUrl?: string }) {
  const { id, journey, jaegerUrl } = props;
  const header = (
    <nav class="crumbs">
      <Link href="/">← Map and journeys</Link>
    </nav>
  );
  if (journey === undefined) {
    return (
      <section class="journey">
        {header}
        <p class="loading">Loading journey…</p>
      </section>
    );
  }
  if (journey === null) {
    return (
      <section class="journey">
        {header}
        <h1>
          Journey <code>{id}</code>
        </h1>
        <p class="empty">
          No journey with this correlation ID is kept by the collector (journeys are dropped after their TTL).
        </p>
      </section>
    );
  }
  const { rows, total } = journeyRows(journey);
  const c = journey.counts;
  const trace = (traceId: string, spanId?: string) =>
    jaegerUrl
      ? `${jaegerUrl}/trace/${encodeURIComponent(traceId)}${spanId ? `?uiFind=${encodeURIComponent(spanId)}` : ''}`
      : undefined;
  return (
    <section class="journey" data-journey={journey.correlationId ?? id}>
      {header}
      <h1>
        Journey <code class="journey-id">{journey.correlationId ?? id}</code>
      </h1>
      <ul class="counts">
        <li>{count(c.publishes)} publishes</li>
        <li>{count(c.deliveries)} deliveries</li>
        <li class={c.retries > 0 ? 'warn' : ''}>{count(c.retries)} retries</li>
        <li class={c.deadLetters > 0 ? 'bad' : ''} data-count="deadLetters">
          {count(c.deadLetters)} dead-lettered
        </li>
        {c.duplicates > 0 && <li class="warn">{count(c.duplicates)} duplicates</li>}
        {c.orphans > 0 && <li class="warn">{count(c.orphans)} orphans</li>}
        {c.unconsumed > 0 && <li class="bad">{count(c.unconsumed)} unconsumed</li>}
        <li>{ms(total)} end to end</li>
        {journey.truncated && <li class="warn">truncated</li>}
      </ul>
      <p class="traces">
        Traces:{' '}
        {journey.traceIds.map((t) => {
          const href = trace(t);
          return href ? (
            <a key={t} class="trace-link" href={href} target="_blank" rel="noopener noreferrer">
              {t}
            </a>
          ) : (
            <code key={t}>{t}</code>
          );
        })}
        {!jaegerUrl && <span class="hint"> (configure ui.jaegerUrl to link them)</span>}
      </p>
      <div class="waterfall">
        <div class="wf-head">
          <span>Step</span>
          <span>
            0 ms <span class="wf-end">{ms(total)}</span>
          </span>
        </div>
        {rows.map((r) => {
          const href = r.traceId ? trace(r.traceId, r.spanId) : undefined;
          return (
            <div
              key={r.key}
              class={`wf-row wf-${r.kind} st-${r.status}`}
              data-row-kind={r.kind}
              data-attempt={r.attempt}
              data-outcome={r.outcome}
            >
              <div class="wf-label" style={{ paddingLeft: `${8 + r.depth * 16}px` }}>
                <span class="wf-title">
                  <span class="wf-kind">{KIND_LABEL[r.kind]}</span> {r.title}
                  {href && (
                    <a
                      class="span-link"
                      href={href}
                      target="_blank"
                      rel="noopener noreferrer"
                      title="Open in Jaeger"
                    >
                      ↗
                    </a>
                  )}
                </span>
                <span class="wf-details">{r.details.join(' · ')}</span>
              </div>
              <div class="wf-track">
                <span
                  class="wf-bar"
                  style={{
                    left: `${Math.min((r.start / total) * 100, 99.4)}%`,
                    width: r.duration > 0 ? `max(3px, ${(r.duration / total) * 100}%)` : '3px',
                  }}
                />
                <span class="wf-time" data-start-ms={r.start.toFixed(3)}>
                  +{ms(r.start)}
                </span>
              </div>
            </div>
          );
        })}
      </div>
    </section>
  );
}

const KIND_LABEL: Record<RowKind, string> = {
  publish: 'publish',
  attempt: 'deliver',
  dead_letter: 'dead letter',
  orphan: 'orphan',
};
