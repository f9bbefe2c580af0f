/**
 * `/metrics` for a process run with `hoptrace/register` and HOPTRACE_METRICS_PORT: hoptrace's
 * registry in Prometheus text or OpenMetrics (exemplars) by `Accept`. The server never keeps the
 * process alive, and a port already taken is reported, not thrown.
 */
import { createServer, type Server } from 'node:http';
import { metricsRegistry } from '../core/metrics.js';
import { renderMetrics } from '../core/metrics-format.js';

export function serveMetrics(host: string, port: number, warn: (message: string) => void): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
      return;
    }
    renderMetrics(metricsRegistry, req.headers.accept).then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be rendered\n'),
    );
  });
  server.on('error', (err) => warn(`cannot serve /metrics on ${host}:${port}: ${err.message}`));
  server.listen(port, host);
  server.unref();
  return server;
}
