/** `GET /metrics`: Prometheus text, or OpenMetrics (with exemplars) when the scraper asks for it. */
import type { CollectorMetrics } from '../metrics.js';
import type { Route } from '../server.js';

export function metricsRoutes(metrics: CollectorMetrics): Route[] {
  return [
    {
      method: 'GET',
      path: '/metrics',
      auth: false,
      async handle({ req, res }) {
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
