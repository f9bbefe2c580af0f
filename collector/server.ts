/**
 * The collector's HTTP server on node:http: a small router over the route modules in ./routes,
 * bearer-token checks, and the single place where errors become responses.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { diag } from '@opentelemetry/api';
import {
  MalformedRequestError,
  MethodNotAllowedError,
  NotFoundError,
  toErrorResponse,
  UnauthorizedError,
} from './errors.js';

export const logger = diag.createComponentLogger({ namespace: 'hoptrace/collector' });

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Named path segments of the matched route. */
  params: Record<string, string>;
}

export interface ErrorBody {
  contentType: string;
  body: Buffer | string;
}

export interface Route {
  method: 'GET' | 'POST';
  /** Path with `:name` segments, e.g. `/api/journeys/:id`. */
  path: string;
  /** Needs the bearer token when one is configured. */
  auth: boolean;
  handle(ctx: RequestContext): Promise<void> | void;
  /** Encodes an error for this route (OTLP answers in the request's encoding). Default: JSON. */
  errorBody?(ctx: RequestContext, code: string, message: string, status: number): ErrorBody;
}

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}/?$`), names };
}

/** Compares SHA-256 digests so neither length nor content leaks through timing. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = createHash('sha256').update(header.slice('Bearer '.length).trim()).digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export interface HttpServerOptions {
  routes: Route[];
  token: string | undefined;
  /** Sent on every response (e.g. the instance ID peers recognise themselves by). */
  headers?: Record<string, string>;
  /** Called for every answered request (metrics). */
  onResponse?: (route: string, status: number) => void;
}

export class HttpServer {
  readonly server: Server;
  private readonly routes: CompiledRoute[];
  private closing = false;

  constructor(private readonly options: HttpServerOptions) {
    this.routes = options.routes.map(compile);
    this.server = createServer((req, res) => {
      this.dispatch(req, res).catch((err: unknown) => logger.error('request handling failed', err));
    });
    // Bound how long a slow client can hold a connection.
    this.server.requestTimeout = 30_000;
    this.server.headersTimeout = 15_000;
    this.server.keepAliveTimeout = 5_000;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting connections, lets in-flight requests finish (up to `graceMs`), then closes the rest. */
  async close(graceMs = 5_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(this.options.headers ?? {})) res.setHeader(name, value);
    const url = new URL(req.url ?? '/', 'http://collector.invalid');
    let matched: { compiled: CompiledRoute; params: Record<string, string> } | undefined;
    const allowed: string[] = [];
    let malformed = false;
    for (const compiled of this.routes) {
      const m = compiled.pattern.exec(url.pathname);
      if (!m) continue;
      if (compiled.route.method !== req.method) {
        allowed.push(compiled.route.method);
        continue;
      }
      const params: Record<string, string> = {};
      compiled.names.forEach((name, i) => {
        try {
          params[name] = decodeURIComponent(m[i + 1]);
        } catch {
          // A bad %-escape: answered 400 below (a throw here would leave the request unanswered).
          malformed = true;
        }
      });
      matched = { compiled, params };
      break;
    }
    const ctx: RequestContext = { req, res, url, params: matched?.params ?? {} };
    const routeName = matched?.compiled.route.path ?? 'unmatched';
    try {
      if (!matched) {
        throw allowed.length > 0
          ? new MethodNotAllowedError(allowed.join(', '))
          : new NotFoundError(`no route for ${url.pathname}`);
      }
      if (malformed) throw new MalformedRequestError('malformed percent-encoding in the path');
      const { route } = matched.compiled;
      if (
        route.auth &&
        this.options.token !== undefined &&
        !tokenMatches(req.headers.authorization, this.options.token)
      ) {
        throw new UnauthorizedError();
      }
      await route.handle(ctx);
    } catch (err) {
      this.sendError(ctx, err, matched?.compiled.route);
    } finally {
      this.options.onResponse?.(routeName, res.statusCode);
    }
  }

  private sendError(ctx: RequestContext, err: unknown, route: Route | undefined): void {
    const response = toErrorResponse(err);
    if (response.status >= 500 && response.status !== 503)
      logger.error(`${ctx.req.method} ${ctx.url.pathname} failed`, err);
    const { res } = ctx;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const encoded = route?.errorBody?.(ctx, response.code, response.message, response.status);
    const body =
      encoded?.body ?? JSON.stringify({ error: { code: response.code, message: response.message } });
    res.writeHead(response.status, {
      'content-type': encoded?.contentType ?? 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      ...response.headers,
    });
    res.end(body);
  }
}
