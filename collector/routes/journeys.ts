/**
 * Journeys API: `GET /api/journeys?limit=N` (recent correlation IDs), `GET /api/journeys/:id`
 * (the journey of a correlation ID) and `GET /api/messages/:id` (the journey from one message).
 */
import { MalformedRequestError, NotFoundError } from '../errors.js';
import type { JourneyReader } from '../journey/reader.js';
import type { Route } from '../server.js';
import { sendJson } from '../server.js';

const MAX_LIST = 1_000;

export function journeyRoutes(journeys: JourneyReader): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/journeys',
      auth: true,
      handle({ res, url }) {
        const raw = url.searchParams.get('limit') ?? '20';
        const limit = Number(raw);
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) {
          throw new MalformedRequestError(`limit must be an integer 1-${MAX_LIST}`);
        }
        sendJson(res, 200, { journeys: journeys.recentJourneys(limit) });
      },
    },
    {
      method: 'GET',
      path: '/api/journeys/:id',
      auth: true,
      handle({ res, params }) {
        const journey = journeys.journey(params.id);
        if (!journey) throw new NotFoundError(`no journey for correlation ID "${params.id}"`);
        sendJson(res, 200, journey);
      },
    },
    {
      method: 'GET',
      path: '/api/messages/:id',
      auth: true,
      handle({ res, params }) {
        const journey = journeys.messageJourney(params.id);
        if (!journey) throw new NotFoundError(`no journey for message ID "${params.id}"`);
        sendJson(res, 200, journey);
      },
    },
  ];
}
