/**
 * The tracing `hoptrace/register` sets up when the application has none: the OTel JS SDK's tracer
 * provider with an OTLP/HTTP exporter configured by the standard OTEL_* variables, W3C trace context
 * and baggage propagators, and AsyncLocalStorage context. Each global is taken only when free, so an
 * SDK the application registered first is joined, never replaced.
 */
import { createRequire } from 'node:module';
import { context, diag, propagation, type TextMapPropagator, trace } from '@opentelemetry/api';
import type * as ContextAsyncHooks from '@opentelemetry/context-async-hooks';
import type * as Core from '@opentelemetry/core';
import type * as OtlpHttp from '@opentelemetry/exporter-trace-otlp-http';
import type * as Resources from '@opentelemetry/resources';
import type * as SdkTrace from '@opentelemetry/sdk-trace';

/**
 * The SDK is loaded when tracing is set up (at the first client load), not at startup: a process that
 * loads no client never loads it. Their CommonJS builds load synchronously here; every OpenTelemetry
 * build shares the API's globals.
 */
const load = createRequire(import.meta.url);

type Env = Record<string, string | undefined>;

export interface InstalledTracing {
  /** False when the application's SDK was there first (hoptrace joined it). */
  readonly installed: boolean;
  flush(): Promise<void>;
}

/**
 * Whether an SDK already registered this global (`trace`, `context`, `propagation`). The API keeps its
 * globals under one symbol per major version; reading it avoids a registration attempt, which the API
 * would answer with an error message on the console.
 */
function registered(api: 'trace' | 'context' | 'propagation'): boolean {
  const globals = (globalThis as Record<symbol, Record<string, unknown> | undefined>)[
    Symbol.for('opentelemetry.js.api.1')
  ];
  return globals?.[api] !== undefined;
}

export function installTracing(env: Env, warn: (message: string) => void): InstalledTracing {
  if (registered('trace')) return { installed: false, flush: async () => {} };
  const { TracerProvider } = load('@opentelemetry/sdk-trace') as typeof SdkTrace;
  const { defaultResource, detectResources, envDetector } = load(
    '@opentelemetry/resources',
  ) as typeof Resources;
  const { AsyncLocalStorageContextManager } = load(
    '@opentelemetry/context-async-hooks',
  ) as typeof ContextAsyncHooks;
  const provider = new TracerProvider({
    resource: defaultResource().merge(detectResources({ detectors: [envDetector] })),
    sampler: samplerFromEnv(env, warn),
    spanProcessors: spanProcessorsFromEnv(env, warn),
  });
  if (!trace.setGlobalTracerProvider(provider)) {
    void provider.shutdown();
    return { installed: false, flush: async () => {} };
  }
  if (!registered('context')) context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const propagator = registered('propagation') ? undefined : propagatorFromEnv(env, warn);
  if (propagator) propagation.setGlobalPropagator(propagator);
  // Spans still batched when the event loop empties are sent before the process exits.
  process.once('beforeExit', () => void provider.forceFlush().catch(() => {}));
  diag.debug('hoptrace/register: tracing set up');
  return { installed: true, flush: () => provider.forceFlush() };
}

/** OTEL_TRACES_EXPORTER: `otlp` (default), `console`, `none`. */
function spanProcessorsFromEnv(env: Env, warn: (message: string) => void): SdkTrace.SpanProcessor[] {
  const { BatchSpanProcessor, ConsoleSpanExporter } = load('@opentelemetry/sdk-trace') as typeof SdkTrace;
  const { OTLPTraceExporter } = load('@opentelemetry/exporter-trace-otlp-http') as typeof OtlpHttp;
  const names = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((name) => name.trim().toLowerCase());
  const processors: SdkTrace.SpanProcessor[] = [];
  for (const name of names) {
    if (name === 'otlp' || name === '')
      processors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter() }));
    else if (name === 'console')
      processors.push(new BatchSpanProcessor({ exporter: new ConsoleSpanExporter() }));
    else if (name !== 'none') warn(`OTEL_TRACES_EXPORTER: "${name}" is not otlp, console or none; ignored`);
  }
  return processors;
}

/** OTEL_PROPAGATORS: `tracecontext`, `baggage` (default both), `none`. */
function propagatorFromEnv(env: Env, warn: (message: string) => void): TextMapPropagator | undefined {
  const { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } = load(
    '@opentelemetry/core',
  ) as typeof Core;
  const names = (env.OTEL_PROPAGATORS ?? 'tracecontext,baggage')
    .split(',')
    .map((name) => name.trim().toLowerCase());
  const propagators: TextMapPropagator[] = [];
  for (const name of names) {
    if (name === 'tracecontext') propagators.push(new W3CTraceContextPropagator());
    else if (name === 'baggage') propagators.push(new W3CBaggagePropagator());
    else if (name !== 'none' && name !== '')
      warn(`OTEL_PROPAGATORS: "${name}" is not supported here; ignored`);
  }
  return propagators.length > 0 ? new CompositePropagator({ propagators }) : undefined;
}

/** OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, as the specification names them. */
function samplerFromEnv(env: Env, warn: (message: string) => void): SdkTrace.Sampler {
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = load(
    '@opentelemetry/sdk-trace',
  ) as typeof SdkTrace;
  const name = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  const ratio = () => {
    const arg = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
    if (Number.isFinite(arg) && arg >= 0 && arg <= 1) return arg;
    warn(`OTEL_TRACES_SAMPLER_ARG="${env.OTEL_TRACES_SAMPLER_ARG}" is not a ratio in [0, 1]; using 1`);
    return 1;
  };
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    default:
      warn(`OTEL_TRACES_SAMPLER="${name}" is not supported; using parentbased_always_on`);
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
