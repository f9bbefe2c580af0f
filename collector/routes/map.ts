/**
 * `GET /api/map?window=S`: the flow map as JSON (see ../journey/map-types.ts), rates over the last
 * S seconds (default 60). In a scale-out with peers it merges every instance's figures.
 * `GET /api/ui`: the settings the web UI needs (Jaeger link base, refresh interval).
 */
import { MalformedRequestError } from '../errors.js';
import { type BrokerSnapshot, buildFlowMap, mergeFlowMaps } from '../journey/map.js';
import type { FlowMap, UiSettings } from '../journey/map-types.js';
import type { JourneyReader } from '../journey/reader.js';
import type { Route } from '../server.js';
import { sendJson } from '../server.js';
import type { Peers } from './peers.js';

export interface MapDeps {
  reader: JourneyReader;
  /** Collector clock, ms. */
  now: () => number;
  broker: () => Promise<BrokerSnapshot>;
  peers?: Peers;
  settings: UiSettings;
}

const DEFAULT_WINDOW_S = 60;

export function mapRoutes(deps: MapDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/map',
      auth: true,
      async handle({ res, url }) {
        const raw = url.searchParams.get('window') ?? String(DEFAULT_WINDOW_S);
        const windowS = Number(raw);
        if (!Number.isInteger(windowS) || windowS < 1 || windowS > 86_400) {
          throw new MalformedRequestError('window must be an integer 1-86400 (seconds)');
        }
        const local = url.searchParams.get('local') === '1';
        const peers = !local && deps.peers && deps.peers.size > 0 ? deps.peers : undefined;
        const own = buildFlowMap(deps.reader, {
          now: deps.now(),
          windowMs: windowS * 1000,
          broker: await deps.broker(),
          // Peers merge digests; a plain answer leaves them out.
          digests: local || peers !== undefined,
        });
        if (!peers) {
          sendJson(res, 200, own);
          return;
        }
        const { answers, failed } = await peers.getAll<FlowMap>(`/api/map?window=${windowS}`);
        const merged = mergeFlowMaps([own, ...answers.map((a) => a.body)]);
        if (failed.length > 0) merged.missingPeers = failed;
        sendJson(res, 200, merged);
      },
    },
    {
      method: 'GET',
      path: '/api/ui',
      auth: true,
      handle({ res }) {
        sendJson(res, 200, deps.settings);
      },
    },
  ];
}
