/**
 * `GET /healthz` (liveness: the process serves requests) and `GET /readyz` (readiness: listening,
 * not shutting down, and required parts such as the scale-out consumer ready). Broker monitor
 * failures do not make the collector unready; they show in the body and in `hoptrace_collector_up`.
 */
import type { Route } from '../server.js';
import { sendJson } from '../server.js';

export interface HealthDeps {
  isClosing: () => boolean;
  /** Parts that must work for the collector to take traffic; a string is the reason it is not ready. */
  readiness: () => Record<string, true | string>;
  /** Per-source health for information. */
  sources: () => Record<string, 'up' | 'down'>;
}

export function healthRoutes(deps: HealthDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      auth: false,
      handle({ res }) {
        sendJson(res, 200, { status: 'ok' });
      },
    },
    {
      method: 'GET',
      path: '/readyz',
      auth: false,
      handle({ res }) {
        const checks = deps.readiness();
        const failing = Object.entries(checks).filter(([, v]) => v !== true);
        const closing = deps.isClosing();
        const ready = !closing && failing.length === 0;
        sendJson(res, ready ? 200 : 503, {
          status: ready ? 'ready' : closing ? 'closing' : 'not ready',
          checks,
          sources: deps.sources(),
        });
      },
    },
  ];
}
