/**
 * Journeys API: `GET /api/journeys` (recent journeys, narrowed by `service`, `destination`, `outcome`
 * and `q`, a correlation ID or message ID), `GET /api/journeys/:id` (the journey of a correlation
 * ID) and `GET /api/messages/:id` (the journey from one message). Reads through the journey reader;
 * in a scale-out with peers, what this instance lacks is asked of the others (see ./peers.ts).
 */
import { MalformedRequestError, NotFoundError } from '../errors.js';
import { JOURNEY_OUTCOME_FILTERS, type JourneyFilter, type JourneyReader } from '../journey/reader.js';
import type { Route } from '../server.js';
import { sendJson } from '../server.js';
import type { Journey, JourneySummary } from '../types.js';
import type { Peers } from './peers.js';

const MAX_LIST = 1_000;
const MAX_FILTER_CHARS = 512;

function filterFrom(params: URLSearchParams): JourneyFilter {
  const filter: JourneyFilter = {};
  for (const [name, key] of [
    ['service', 'service'],
    ['destination', 'destination'],
    ['q', 'query'],
  ] as const) {
    const value = params.get(name);
    if (value === null || value === '') continue;
    if (value.length > MAX_FILTER_CHARS) throw new MalformedRequestError(`${name} is too long`);
    filter[key] = value;
  }
  const outcome = params.get('outcome');
  if (outcome !== null && outcome !== '') {
    if (!(JOURNEY_OUTCOME_FILTERS as readonly string[]).includes(outcome)) {
      throw new MalformedRequestError(`outcome must be one of ${JOURNEY_OUTCOME_FILTERS.join(', ')}`);
    }
    filter.outcome = outcome as JourneyFilter['outcome'];
  }
  return filter;
}

/** Whether to ask peers: not when a peer is asking (`local=1`). */
const fanOut = (peers: Peers | undefined, url: URL): Peers | undefined =>
  peers && peers.size > 0 && url.searchParams.get('local') !== '1' ? peers : undefined;

export function journeyRoutes(reader: JourneyReader, peers?: Peers): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/journeys',
      auth: true,
      async handle({ res, url }) {
        const raw = url.searchParams.get('limit') ?? '20';
        const limit = Number(raw);
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) {
          throw new MalformedRequestError(`limit must be an integer 1-${MAX_LIST}`);
        }
        let journeys = reader.recentJourneys(limit, filterFrom(url.searchParams));
        const others = fanOut(peers, url);
        if (others) {
          const { answers } = await others.getAll<{ journeys: JourneySummary[] }>(
            `/api/journeys${url.search}`,
          );
          journeys = journeys
            .concat(...answers.map((a) => a.body.journeys))
            .sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : a.lastSeen > b.lastSeen ? -1 : 0))
            .slice(0, limit);
        }
        sendJson(res, 200, { journeys });
      },
    },
    {
      method: 'GET',
      path: '/api/journeys/:id',
      auth: true,
      async handle({ res, params, url }) {
        const journey =
          reader.journey(params.id) ??
          (await fanOut(peers, url)?.first<Journey>(`/api/journeys/${encodeURIComponent(params.id)}`));
        if (!journey) throw new NotFoundError(`no journey for correlation ID "${params.id}"`);
        sendJson(res, 200, journey);
      },
    },
    {
      method: 'GET',
      path: '/api/messages/:id',
      auth: true,
      async handle({ res, params, url }) {
        const journey =
          reader.messageJourney(params.id) ??
          (await fanOut(peers, url)?.first<Journey>(`/api/messages/${encodeURIComponent(params.id)}`));
        if (!journey) throw new NotFoundError(`no journey for message ID "${params.id}"`);
        sendJson(res, 200, journey);
      },
    },
  ];
}
