/** Recent journeys with filters (service, destination, outcome) and a search by correlation or message ID. */
import type { JourneySummary } from '../../types.js';
import { clock, count } from './format.js';
import { Link } from './router.js';

export interface JourneyFilters {
  service: string;
  destination: string;
  outcome: string;
  q: string;
}

export const OUTCOMES: [string, string][] = [
  ['', 'any outcome'],
  ['dead_lettered', 'dead-lettered'],
  ['retried', 'retried'],
  ['failed', 'failed attempts'],
  ['unconsumed', 'unconsumed'],
  ['orphaned', 'orphaned'],
  ['duplicated', 'duplicated'],
];

export function filtersQuery(f: JourneyFilters): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v !== '') params.set(k, v);
  return params.toString();
}

function flags(j: JourneySummary): string[] {
  const out: string[] = [];
  if (j.deadLetters > 0) out.push(`dead-lettered ${j.deadLetters}`);
  if (j.retries > 0) out.push(`retries ${j.retries}`);
  if (j.errors > 0) out.push(`failed ${j.errors}`);
  if (j.unconsumed > 0) out.push(`unconsumed ${j.unconsumed}`);
  if (j.orphans > 0) out.push(`orphans ${j.orphans}`);
  if (j.duplicates > 0) out.push(`duplicates ${j.duplicates}`);
  if (j.truncated) out.push('truncated');
  return out;
}

export function JourneysList(props: {
  journeys: JourneySummary[] | undefined;
  filters: JourneyFilters;
  services: string[];
  destinations: string[];
  onFilters: (f: JourneyFilters) => void;
}) {
  const { journeys, filters, onFilters } = props;
  const set = (key: keyof JourneyFilters) => (ev: Event) =>
    onFilters({ ...filters, [key]: (ev.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  const options = (values: string[], current: string) =>
    current !== '' && !values.includes(current) ? [current, ...values] : values;
  return (
    <section class="journeys" aria-label="Journeys">
      <form
        class="filters"
        onSubmit={(ev) => {
          ev.preventDefault();
        }}
      >
        <input
          type="search"
          name="q"
          placeholder="correlation ID or message ID"
          value={filters.q}
          onInput={set('q')}
          aria-label="Search by correlation ID or message ID"
        />
        <select name="service" value={filters.service} onChange={set('service')} aria-label="Service">
          <option value="">any service</option>
          {options(props.services, filters.service).map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <select
          name="destination"
          value={filters.destination}
          onChange={set('destination')}
          aria-label="Destination"
        >
          <option value="">any destination</option>
          {options(props.destinations, filters.destination).map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
        <select name="outcome" value={filters.outcome} onChange={set('outcome')} aria-label="Outcome">
          {OUTCOMES.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
        {filtersQuery(filters) !== '' && (
          <button
            type="button"
            onClick={() => onFilters({ service: '', destination: '', outcome: '', q: '' })}
          >
            Clear
          </button>
        )}
      </form>
      {journeys === undefined ? (
        <p class="loading">Loading journeys…</p>
      ) : journeys.length === 0 ? (
        <p class="empty">No journeys match.</p>
      ) : (
        <table class="journey-table">
          <thead>
            <tr>
              <th>Correlation ID</th>
              <th>Services</th>
              <th>Destinations</th>
              <th class="num">Publishes</th>
              <th class="num">Deliveries</th>
              <th>Outcome</th>
              <th>Last seen (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {journeys.map((j) => (
              <tr key={j.correlationId} data-journey={j.correlationId}>
                <td class="id">
                  <Link class="id-link" href={`/journeys/${encodeURIComponent(j.correlationId)}`}>
                    {j.correlationId}
                  </Link>
                </td>
                <td>{j.services.join(', ')}</td>
                <td>{j.destinations.join(', ')}</td>
                <td class="num">{count(j.publishes)}</td>
                <td class="num">{count(j.deliveries)}</td>
                <td>
                  {flags(j).length === 0 ? (
                    <span class="badge ok">ok</span>
                  ) : (
                    flags(j).map((f) => (
                      <span
                        key={f}
                        class={`badge ${f.startsWith('dead') || f.startsWith('failed') ? 'bad' : 'warn'}`}
                      >
                        {f}
                      </span>
                    ))
                  )}
                </td>
                <td>{clock(j.lastSeen)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
