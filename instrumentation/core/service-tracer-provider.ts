/**
 * One TracerProvider per logical service in one process (the demo, a modular monolith on the bus).
 *
 * Trace views name a span's service by its resource `service.name`, and a resource belongs to a
 * TracerProvider. When one wrapper serves several logical services (a Bus with subscriptions of
 * billing, email, ...), give it a `serviceTracerProvider`: each span is started on the provider of the
 * service whose code is running, the one hoptrace keeps in the context (a handler's subscription
 * `serviceName`, and publishes made inside that handler), else on `fallback`.
 */
import {
  type Context,
  context,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerOptions,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { currentServiceName } from './flow.js';

/** `providerFor(serviceName)` is called once per service name and may return undefined (use the fallback). */
export function serviceTracerProvider(
  providerFor: (serviceName: string) => TracerProvider | undefined,
  fallback: TracerProvider,
): TracerProvider {
  const providers = new Map<string, TracerProvider>();
  const providerOf = (service: string | undefined): TracerProvider => {
    if (service === undefined) return fallback;
    let provider = providers.get(service);
    if (!provider) {
      provider = providerFor(service) ?? fallback;
      providers.set(service, provider);
    }
    return provider;
  };
  return {
    getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
      const tracers = new Map<TracerProvider, Tracer>();
      const tracerOf = (ctx: Context): Tracer => {
        const provider = providerOf(currentServiceName(ctx));
        let tracer = tracers.get(provider);
        if (!tracer) {
          tracer = provider.getTracer(name, version, options);
          tracers.set(provider, tracer);
        }
        return tracer;
      };
      const startSpan = (
        spanName: string,
        spanOptions?: SpanOptions,
        ctx: Context = context.active(),
      ): Span => tracerOf(ctx).startSpan(spanName, spanOptions, ctx);
      return {
        startSpan,
        startActiveSpan(spanName: string, ...rest: unknown[]) {
          const fn = rest.pop() as (span: Span) => unknown;
          const [spanOptions, ctx = context.active()] = rest as [
            SpanOptions | undefined,
            Context | undefined,
          ];
          const span = startSpan(spanName, spanOptions, ctx);
          return context.with(trace.setSpan(ctx, span), fn, undefined, span);
        },
      } as Tracer;
    },
  };
}
