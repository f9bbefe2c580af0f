/**
 * Every setting of `hoptrace/register`, read from the environment in one place (the table in
 * docs/register.md follows this list). A bad value is reported in one line and replaced by its
 * default: a typo in a variable never stops the application.
 */
import type { LinkMode } from '../core/types.js';

/** Clients `hoptrace/register` can instrument, by the name used in HOPTRACE_INSTRUMENTATIONS. */
export const CLIENT_NAMES = ['amqplib', 'kafkajs', 'bullmq', 'aws-sqs', 'aws-sns', 'pubsub'] as const;
export type ClientName = (typeof CLIENT_NAMES)[number];

export interface RegisterSettings {
  /** HOPTRACE_ENABLED (default true): false turns everything off. */
  enabled: boolean;
  /** HOPTRACE_INSTRUMENTATIONS (default all): which clients to instrument. */
  clients: readonly ClientName[];
  /**
   * HOPTRACE_SDK (default `auto`): `auto` sets up tracing (OTLP/HTTP exporter from the OTEL_*
   * variables, W3C propagators, AsyncLocalStorage context) when the first client is loaded, unless
   * the application registered an SDK before then; `off` never does (the application brings its own).
   * OTEL_SDK_DISABLED=true means `off`.
   */
  sdk: 'auto' | 'off';
  /**
   * HOPTRACE_SERVICE_NAME: the wrappers' `serviceName` (the `hoptrace.service.name` attribute), for a
   * process hosting a service other than its resource's. Unset, the resource's `service.name`
   * (OTEL_SERVICE_NAME) names every span, as with NodeSDK.
   */
  serviceName: string | undefined;
  /** HOPTRACE_LINK_MODE (`parent` | `link`). */
  linkMode: LinkMode | undefined;
  /** HOPTRACE_CORRELATION_HEADER. */
  correlationHeader: string | undefined;
  /** HOPTRACE_CAPTURE_HEADERS: comma-separated allow-list. */
  captureHeaders: string[] | undefined;
  /** HOPTRACE_METRICS_PORT: serve Prometheus metrics on this port (default off). */
  metricsPort: number | undefined;
  /** HOPTRACE_METRICS_HOST (default 127.0.0.1; 0.0.0.0 for a scraper on another host). */
  metricsHost: string;
}

type Env = Record<string, string | undefined>;

export function readRegisterSettings(env: Env, warn: (message: string) => void): RegisterSettings {
  const value = (name: string) => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };
  const bool = (name: string, fallback: boolean) => {
    const raw = value(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['true', '1', 'yes', 'on'].includes(raw)) return true;
    if (['false', '0', 'no', 'off'].includes(raw)) return false;
    warn(`${name}="${env[name]}" is not true or false; using ${fallback}`);
    return fallback;
  };

  let clients: ClientName[] = [...CLIENT_NAMES];
  const listed = value('HOPTRACE_INSTRUMENTATIONS');
  if (listed !== undefined && listed.toLowerCase() !== 'all') {
    clients = [];
    for (const name of listed.split(',').map((part) => part.trim().toLowerCase())) {
      if (name === '' || name === 'none') continue;
      if ((CLIENT_NAMES as readonly string[]).includes(name)) clients.push(name as ClientName);
      else warn(`HOPTRACE_INSTRUMENTATIONS: unknown client "${name}" (known: ${CLIENT_NAMES.join(', ')})`);
    }
  }

  let sdk: 'auto' | 'off' = 'auto';
  const sdkRaw = value('HOPTRACE_SDK')?.toLowerCase();
  if (sdkRaw === 'off') sdk = 'off';
  else if (sdkRaw !== undefined && sdkRaw !== 'auto')
    warn(`HOPTRACE_SDK="${env.HOPTRACE_SDK}" is not auto or off; using auto`);
  if (bool('OTEL_SDK_DISABLED', false)) sdk = 'off';

  let linkMode: LinkMode | undefined;
  const link = value('HOPTRACE_LINK_MODE');
  if (link === 'parent' || link === 'link') linkMode = link;
  else if (link !== undefined) warn(`HOPTRACE_LINK_MODE="${link}" is not parent or link; using parent`);

  let metricsPort: number | undefined;
  const port = value('HOPTRACE_METRICS_PORT');
  if (port !== undefined && port.toLowerCase() !== 'off') {
    const parsed = /^\d{1,5}$/.test(port) ? Number(port) : Number.NaN;
    if (parsed >= 1 && parsed <= 65535) metricsPort = parsed;
    else warn(`HOPTRACE_METRICS_PORT="${port}" is not a port (1-65535); metrics are not served`);
  }

  return {
    enabled: bool('HOPTRACE_ENABLED', true),
    clients,
    sdk,
    serviceName: value('HOPTRACE_SERVICE_NAME'),
    linkMode,
    correlationHeader: value('HOPTRACE_CORRELATION_HEADER'),
    captureHeaders: value('HOPTRACE_CAPTURE_HEADERS')
      ?.split(',')
      .map((header) => header.trim())
      .filter((header) => header !== ''),
    metricsPort,
    metricsHost: value('HOPTRACE_METRICS_HOST') ?? '127.0.0.1',
  };
}
