/**
 * Resolves a wrapper's options once, at wrap time, into the tracer, metrics, guard and settings the
 * message path uses, through the core's option resolver (`options.ts`, warn policy): bad options are
 * warned about and replaced by defaults; the caller's object is copied.
 */
import { type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import { newCorrelationId } from './correlation.js';
import {
  getMessagingMetrics,
  type MessagingMetrics,
  type MetricsRegistry,
  metricsRegistry,
} from './metrics.js';
import {
  DEFAULT_OPTIONS,
  type OptionRule,
  positiveInt,
  RULES,
  resolveOption,
  warnPolicy,
} from './options.js';
import { type Guard, guardFor } from './safe.js';
import type { MessagingSystem } from './semconv.js';
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

const REGISTRY: OptionRule<MetricsRegistry> = {
  expected: 'a prom-client Registry',
  accepts: (v): v is MetricsRegistry =>
    typeof (v as Partial<MetricsRegistry> | null)?.registerMetric === 'function' &&
    typeof (v as Partial<MetricsRegistry> | null)?.getSingleMetric === 'function',
};
const TRACER_PROVIDER: OptionRule<TracerProvider> = {
  expected: 'a TracerProvider',
  accepts: (v): v is TracerProvider => typeof (v as Partial<TracerProvider> | null)?.getTracer === 'function',
};

export function createInstrumentation<TPublish, TConsume>(
  area: string,
  system: MessagingSystem,
  options: InstrumentationOptions<TPublish, TConsume> = {},
): Instrumentation<TPublish, TConsume> {
  const guard = guardFor(area);
  const policy = warnPolicy(guard);
  const opts: InstrumentationOptions<TPublish, TConsume> =
    typeof options === 'object' && options !== null ? { ...options } : {};

  const serviceName = resolveOption(policy, 'serviceName', opts.serviceName, RULES.nonEmptyString, undefined);
  const linkMode: LinkMode = resolveOption(
    policy,
    'linkMode',
    opts.linkMode,
    RULES.oneOf<LinkMode>('parent', 'link'),
    DEFAULT_OPTIONS.linkMode,
    "'parent'",
  );
  const correlationHeader = resolveOption(
    policy,
    'correlationHeader',
    opts.correlationHeader,
    RULES.headerName,
    DEFAULT_OPTIONS.correlationHeader,
  );
  const captureHeaders = Object.freeze([
    ...resolveOption(
      policy,
      'captureHeaders',
      opts.captureHeaders,
      RULES.stringList,
      DEFAULT_OPTIONS.captureHeaders,
      'none',
    ),
  ]);
  const maxDestinations = positiveInt(
    policy,
    'maxDestinations',
    opts.maxDestinations,
    DEFAULT_OPTIONS.maxDestinations,
  );
  const registry = resolveOption(
    policy,
    'registry',
    opts.registry,
    REGISTRY,
    metricsRegistry,
    'hoptrace metricsRegistry',
  );
  const tracerProvider = resolveOption(
    policy,
    'tracerProvider',
    opts.tracerProvider,
    TRACER_PROVIDER,
    trace.getTracerProvider(),
    'the global tracer provider',
  );

  const hooks: InstrumentationHooks<TPublish, TConsume> = {};
  const givenHooks = resolveOption(policy, 'hooks', opts.hooks, RULES.object, undefined, 'no hooks') as
    | InstrumentationHooks<TPublish, TConsume>
    | undefined;
  for (const name of ['publishHook', 'consumeHook', 'settleHook'] as const) {
    const hook = resolveOption(
      policy,
      `hooks.${name}`,
      givenHooks?.[name],
      RULES.function,
      undefined,
      'no hook',
    );
    if (hook !== undefined) (hooks as Record<string, unknown>)[name] = hook;
  }

  const generateCorrelationId = resolveOption(
    policy,
    'generateCorrelationId',
    opts.generateCorrelationId,
    RULES.function,
    newCorrelationId,
    'random UUIDs',
  ) as () => string;

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
