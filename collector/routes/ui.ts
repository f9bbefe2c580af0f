/**
 * The web UI: `GET /` (flow map and journeys) and `GET /journeys/:id` (a journey's deep link) serve
 * one static page, and `GET /assets/:name` its bundled script, styles and layout worker, built by
 * `npm run build` into dist/collector/ui/assets (no CDN). The page holds no data: it reads `/api`
 * with the user's token, so these routes need none, and a wrong token gets no data. A strict
 * Content-Security-Policy allows only these scripts, so a string from a span cannot run as code
 * even if it reached the markup.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { CollectorError, NotFoundError } from '../errors.js';
import type { RequestContext, Route } from '../server.js';

const ASSETS = new URL('../ui/assets/', import.meta.url);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The only files served: nothing else under the assets folder (or beside it) can be read. */
const SERVED = new Set(['index.html', 'app.js', 'app.css', 'elk-worker.min.js', 'favicon.svg']);

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  type: string;
  body: Buffer;
  gzipped: Buffer;
}

class UiAssetsMissingError extends CollectorError {
  override name = 'UiAssetsMissingError';
  constructor(name: string) {
    super('HOPTRACE_COLLECTOR_UI_NOT_BUILT', `UI asset ${name} is missing: run npm run build`, {
      httpStatus: 503,
    });
  }
}

export function uiRoutes(): Route[] {
  const cache = new Map<string, Asset>();
  const load = (name: string): Asset => {
    let asset = cache.get(name);
    if (!asset) {
      let body: Buffer;
      try {
        body = readFileSync(new URL(name, ASSETS));
      } catch {
        throw new UiAssetsMissingError(name);
      }
      const ext = name.slice(name.lastIndexOf('.'));
      asset = { type: TYPES[ext] ?? 'application/octet-stream', body, gzipped: gzipSync(body) };
      cache.set(name, asset);
    }
    return asset;
  };
  const send = ({ req, res }: RequestContext, name: string, cacheControl: string): void => {
    const asset = load(name);
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? asset.gzipped : asset.body;
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': body.length,
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      vary: 'accept-encoding',
      'cache-control': cacheControl,
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
    res.end(body);
  };
  const page = (ctx: RequestContext) => send(ctx, 'index.html', 'no-store');
  return [
    { method: 'GET', path: '/', auth: false, handle: page },
    { method: 'GET', path: '/journeys/:id', auth: false, handle: page },
    {
      method: 'GET',
      path: '/assets/:name',
      auth: false,
      handle(ctx) {
        if (!SERVED.has(ctx.params.name)) throw new NotFoundError(`no asset ${ctx.params.name}`);
        send(ctx, ctx.params.name, 'no-cache');
      },
    },
  ];
}
