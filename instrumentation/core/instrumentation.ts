/**
 * Resolves a wrapper's options once, at wrap time, into the tracer, metrics, guard and settings the
 * message path uses. Bad options are warned about and replaced by defaults; the caller's object is copied.
 */
import { type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import { newCorrelationId } from './correlation.js';
import {
  DEFAULT_MAX_DESTINATIONS,
  getMessagingMetrics,
  type MessagingMetrics,
  type MetricsRegistry,
  metricsRegistry,
} from './metrics.js';
import { type Guard, guardFor } from './safe.js';
import { HEADER_CORRELATION_ID, type MessagingSystem } from './semconv.js';
import type { InstrumentationHooks, InstrumentationOptions, LinkMode } from './types.js';
import { VERSION } from './version.js';

export interface Instrumentation<TPublish = unknown, TConsume = unknown> {
  readonly system: MessagingSystem;
  readonly tracer: Tracer;
  readonly metrics: MessagingMetrics;
  readonly guard: Guard;
  readonly serviceName: string | undefined;
  readonly correlationHeader: string;
  readonly captureHeaders: readonly string[];
  readonly linkMode: LinkMode;
  readonly hooks: Readonly<InstrumentationHooks<TPublish, TConsume>>;
  readonly generateCorrelationId: () => string;
}

const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function createInstrumentation<TPublish, TConsume>(
  area: string,
  system: MessagingSystem,
  options: InstrumentationOptions<TPublish, TConsume> = {},
): Instrumentation<TPublish, TConsume> {
  const guard = guardFor(area);
  const opts = typeof options === 'object' && options !== null ? { ...options } : {};
  const warn = (name: string, fallback: string) =>
    guard.warnOnce(`option:${name}`, `option ${name} is invalid; using ${fallback}`);

  let serviceName: string | undefined;
  if (opts.serviceName !== undefined) {
    if (typeof opts.serviceName === 'string' && opts.serviceName.length > 0) serviceName = opts.serviceName;
    else warn('serviceName', 'none');
  }

  let linkMode: LinkMode = 'parent';
  if (opts.linkMode !== undefined) {
    if (opts.linkMode === 'parent' || opts.linkMode === 'link') linkMode = opts.linkMode;
    else warn('linkMode', "'parent'");
  }

  let correlationHeader = HEADER_CORRELATION_ID;
  if (opts.correlationHeader !== undefined) {
    if (typeof opts.correlationHeader === 'string' && HEADER_NAME.test(opts.correlationHeader)) {
      correlationHeader = opts.correlationHeader;
    } else warn('correlationHeader', HEADER_CORRELATION_ID);
  }

  let captureHeaders: readonly string[] = [];
  if (opts.captureHeaders !== undefined) {
    if (Array.isArray(opts.captureHeaders) && opts.captureHeaders.every((h) => typeof h === 'string')) {
      captureHeaders = Object.freeze([...opts.captureHeaders]);
    } else warn('captureHeaders', 'none');
  }

  let maxDestinations = DEFAULT_MAX_DESTINATIONS;
  if (opts.maxDestinations !== undefined) {
    if (Number.isInteger(opts.maxDestinations) && (opts.maxDestinations as number) > 0) {
      maxDestinations = opts.maxDestinations as number;
    } else warn('maxDestinations', String(DEFAULT_MAX_DESTINATIONS));
  }

  let registry: MetricsRegistry = metricsRegistry;
  if (opts.registry !== undefined) {
    const candidate = opts.registry as Partial<MetricsRegistry> | null;
    if (
      candidate &&
      typeof candidate.registerMetric === 'function' &&
      typeof candidate.getSingleMetric === 'function'
    ) {
      registry = opts.registry;
    } else warn('registry', 'hoptrace metricsRegistry');
  }

  let tracerProvider: TracerProvider = trace.getTracerProvider();
  if (opts.tracerProvider !== undefined) {
    if (opts.tracerProvider && typeof opts.tracerProvider.getTracer === 'function')
      tracerProvider = opts.tracerProvider;
    else warn('tracerProvider', 'the global tracer provider');
  }

  const hooks: InstrumentationHooks<TPublish, TConsume> = {};
  if (opts.hooks !== undefined) {
    if (typeof opts.hooks === 'object' && opts.hooks !== null) {
      for (const name of ['publishHook', 'consumeHook', 'settleHook'] as const) {
        const hook = opts.hooks[name];
        if (hook === undefined) continue;
        if (typeof hook === 'function') (hooks as Record<string, unknown>)[name] = hook;
        else warn(`hooks.${name}`, 'no hook');
      }
    } else warn('hooks', 'no hooks');
  }

  let generateCorrelationId = newCorrelationId;
  if (opts.generateCorrelationId !== undefined) {
    if (typeof opts.generateCorrelationId === 'function') generateCorrelationId = opts.generateCorrelationId;
    else warn('generateCorrelationId', 'random UUIDs');
  }

  return {
    system,
    tracer: tracerProvider.getTracer('hoptrace', VERSION),
    metrics: getMessagingMetrics(registry, maxDestinations),
    guard,
    serviceName,
    correlationHeader,
    captureHeaders,
    linkMode,
    hooks: Object.freeze(hooks),
    generateCorrelationId,
  };
}
