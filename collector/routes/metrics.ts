/** `GET /metrics`: Prometheus text, or OpenMetrics (with exemplars) when the scraper asks for it. */
import type { CollectorMetrics } from '../metrics.js';
import type { Route } from '../server.js';

/** `beforeRender`: brings monitors that compute at scrape time up to date (bounded in time). */
export function metricsRoutes(metrics: CollectorMetrics, beforeRender?: () => Promise<void>): Route[] {
  return [
    {
      method: 'GET',
      path: '/metrics',
      auth: false,
      async handle({ req, res }) {
        await beforeRender?.().catch(() => undefined);
        const rendered = await metrics.render(req.headers.accept);
        res.writeHead(200, {
          'content-type': rendered.contentType,
          'content-length': Buffer.byteLength(rendered.body),
        });
        res.end(rendered.body);
      },
    },
  ];
}
