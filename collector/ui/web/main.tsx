/**
 * The hoptrace web UI, served by the collector: the flow map and recent journeys at `/`, one
 * journey at `/journeys/{correlationId}`. Everything comes from `/api` with the user's token, and
 * is polled every `refreshMs` so the page updates without reloading. Text from spans is only ever
 * rendered as text (Preact escapes it); no HTML is built from strings.
 */
import { type JSX, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { FlowMap, UiSettings } from '../../journey/map-types.js';
import type { Journey, JourneySummary } from '../../types.js';
import { getJson, NotFoundError, setToken, takeTokenFromFragment, UnauthorizedError } from './api.js';
import { clock, count } from './format.js';
import { JourneyPage } from './journey-page.js';
import { filtersQuery, type JourneyFilters, JourneysList } from './journeys-list.js';
import { MapView, type Timings } from './map-view.js';
import { Link, navigate, type Route, useRoute } from './router.js';

const timings: Timings = {};
(window as unknown as { __hoptrace: Timings }).__hoptrace = timings;

function filtersFrom(route: Route): JourneyFilters {
  const q = route.page === 'home' ? route.query : new URLSearchParams();
  return {
    service: q.get('service') ?? '',
    destination: q.get('destination') ?? '',
    outcome: q.get('outcome') ?? '',
    q: q.get('q') ?? '',
  };
}

function TokenForm(props: { onToken: () => void }) {
  const [value, setValue] = useState('');
  return (
    <form
      class="token-form"
      onSubmit={(ev) => {
        ev.preventDefault();
        setToken(value.trim());
        props.onToken();
      }}
    >
      <h1>This collector needs a token</h1>
      <p>
        Enter the collector's bearer token (<code>--token</code> / <code>HOPTRACE_COLLECTOR_TOKEN</code>). It
        is kept in this tab only.
      </p>
      <input
        type="password"
        name="token"
        autoComplete="off"
        value={value}
        onInput={(ev) => setValue((ev.currentTarget as HTMLInputElement).value)}
        aria-label="Token"
      />
      <button type="submit">Open</button>
    </form>
  );
}

/** Unconsumed publishes and orphan deliveries over the whole map, where nobody can miss them. */
function LossBadges(props: { map: FlowMap }) {
  let unconsumed = 0;
  let orphans = 0;
  for (const n of props.map.nodes) {
    if (n.kind !== 'destination') continue;
    unconsumed += n.unconsumed;
    orphans += n.orphans;
  }
  return (
    <span class="loss">
      <span class={`badge ${unconsumed > 0 ? 'bad' : 'ok'}`} data-total="unconsumed">
        {count(unconsumed)} unconsumed
      </span>
      <span class={`badge ${orphans > 0 ? 'warn' : 'ok'}`} data-total="orphans">
        {count(orphans)} orphans
      </span>
    </span>
  );
}

function App() {
  const route = useRoute();
  const [settings, setSettings] = useState<UiSettings | undefined>();
  const [map, setMap] = useState<FlowMap | undefined>();
  const [journeys, setJourneys] = useState<JourneySummary[] | undefined>();
  const [journey, setJourney] = useState<Journey | null | undefined>();
  const [needToken, setNeedToken] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [updated, setUpdated] = useState<string | undefined>();
  const [tick, setTick] = useState(0);
  /** Polls in flight (timer polls skip while one runs) and the latest started: only it may update the page. */
  const inFlight = useRef(0);
  const latest = useRef(0);
  const filters = filtersFrom(route);
  const routeKey = route.page === 'journey' ? `j:${route.id}` : `h:${filtersQuery(filters)}`;

  const poll = useCallback(
    async (fromTimer: boolean) => {
      if (fromTimer && inFlight.current > 0) return;
      inFlight.current++;
      const mine = ++latest.current;
      const stale = () => mine !== latest.current;
      const started = performance.now();
      try {
        const s = settings ?? (await getJson<UiSettings>('/api/ui'));
        if (!settings) setSettings(s);
        if (route.page === 'journey') {
          let journey: Journey | null;
          try {
            journey = await getJson<Journey>(`/api/journeys/${encodeURIComponent(route.id)}`);
          } catch (err) {
            if (!(err instanceof NotFoundError)) throw err;
            journey = null;
          }
          if (stale()) return;
          setJourney(journey);
        } else {
          const query = filtersQuery(filters);
          const [m, list] = await Promise.all([
            getJson<FlowMap>('/api/map'),
            getJson<{ journeys: JourneySummary[] }>(`/api/journeys?limit=100${query ? `&${query}` : ''}`),
          ]);
          if (stale()) return;
          setMap(m);
          setJourneys(list.journeys);
        }
        setNeedToken(false);
        setError(undefined);
        setUpdated(new Date().toISOString());
        timings.lastPollMs = performance.now() - started;
      } catch (err) {
        if (stale()) return;
        if (err instanceof UnauthorizedError) {
          setNeedToken(true);
          setMap(undefined);
          setJourneys(undefined);
          setJourney(undefined);
        } else {
          setError((err as Error).message);
        }
      } finally {
        inFlight.current--;
      }
    },
    [routeKey, settings],
  );

  useEffect(() => {
    // A new journey starts blank; a changed filter keeps the old list until the new one arrives.
    if (route.page === 'journey') setJourney(undefined);
    void poll(false);
  }, [routeKey, tick]);

  useEffect(() => {
    const timer = setInterval(() => {
      if (!document.hidden && !needToken) void poll(true);
    }, settings?.refreshMs ?? 2000);
    return () => clearInterval(timer);
  }, [poll, settings, needToken]);

  const setFilters = (f: JourneyFilters) => {
    const query = filtersQuery(f);
    navigate(query ? `/?${query}` : '/', true);
  };

  let body: JSX.Element;
  if (needToken) {
    body = <TokenForm onToken={() => setTick((t) => t + 1)} />;
  } else if (route.page === 'journey') {
    body = <JourneyPage id={route.id} journey={journey} jaegerUrl={settings?.jaegerUrl} />;
  } else {
    const names = (kind: 'service' | 'destination') =>
      [...new Set((map?.nodes ?? []).filter((n) => n.kind === kind).map((n) => n.name))].sort();
    body = (
      <>
        <section class="panel" aria-label="Flow map">
          <h2>
            Flow map
            {map && (
              <span class="sub">
                {count(map.nodes.length)} nodes · {count(map.edges.length)} edges · {count(map.journeys)}{' '}
                journeys tracked · rates over {map.windowSeconds} s
                {map.instances > 1 ? ` · ${map.instances} collectors` : ''}
              </span>
            )}
            {map && <LossBadges map={map} />}
          </h2>
          {map?.missingPeers && (
            <p class="error">
              Collectors not answering (their figures are missing): {map.missingPeers.join(', ')}
            </p>
          )}
          {map ? (
            <MapView
              map={map}
              selection={{
                service: filters.service || undefined,
                destination: filters.destination || undefined,
              }}
              onSelect={(s) =>
                setFilters({ ...filters, service: s.service ?? '', destination: s.destination ?? '' })
              }
            />
          ) : (
            <p class="loading">Loading map…</p>
          )}
        </section>
        <section class="panel">
          <h2>Journeys</h2>
          <JourneysList
            journeys={journeys}
            filters={filters}
            services={names('service')}
            destinations={names('destination')}
            onFilters={setFilters}
          />
        </section>
      </>
    );
  }

  return (
    <>
      <header class="top">
        <Link href="/" class="brand">
          hoptrace
        </Link>
        <span class="status" aria-live="polite">
          {error ? (
            <span class="bad">not updating: {error}</span>
          ) : updated ? (
            <>
              <span class="live-dot" /> live · updated {clock(updated)} UTC
            </>
          ) : (
            'connecting…'
          )}
        </span>
      </header>
      <main>{body}</main>
    </>
  );
}

takeTokenFromFragment();
const root = document.getElementById('app')!;
root.textContent = ''; // the static "Loading" line
render(<App />, root);
