/**
 * The OpenTelemetry setup the examples use, as a Node service would: AsyncLocalStorage context, a
 * tracer provider, an in-memory copy of every span (so the demo can print journeys) and, when asked,
 * OTLP/HTTP export to Jaeger, the hoptrace collector or any OTLP receiver.
 */
import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { serviceTracerProvider } from '../../instrumentation/core/service-tracer-provider.js';

export interface TelemetryOptions {
  serviceName: string;
  /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; a bare origin gets `/v1/traces` added. */
  otlpUrl?: string;
  /** Keep finished spans in memory (for printing journeys); default true. */
  keepSpans?: boolean;
  /** More span processors, e.g. one feeding an in-process collector (`hoptrace demo --ui`). */
  processors?: SpanProcessor[];
}

export interface Telemetry {
  /** The provider of `serviceName`; the global provider routes to `providerFor` by logical service. */
  provider: TracerProvider;
  /**
   * The provider of one logical service (storefront, billing, ...): its own resource `service.name`,
   * the same processors. One per service, made on first use.
   */
  providerFor(serviceName: string): TracerProvider;
  /** Finished spans kept in memory, oldest first. */
  spans(): ReadableSpan[];
  /** Flushes exports and unregisters the globals. */
  shutdown(): Promise<void>;
}

export function otlpTracesUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/v1/traces';
  return parsed.toString();
}

export function setupTelemetry(options: TelemetryOptions): Telemetry {
  const memory = new InMemorySpanExporter();
  const processors: SpanProcessor[] = [];
  if (options.keepSpans !== false) processors.push(new SimpleSpanProcessor({ exporter: memory }));
  if (options.otlpUrl) {
    processors.push(
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: otlpTracesUrl(options.otlpUrl) }) }),
    );
  }
  processors.push(...(options.processors ?? []));
  const host = hostAttributes();
  const providers = new Map<string, TracerProvider>();
  const providerFor = (serviceName: string): TracerProvider => {
    let provider = providers.get(serviceName);
    if (!provider) {
      provider = new TracerProvider({
        resource: resourceFromAttributes({ 'service.name': serviceName, ...host }),
        // Shared: every service's spans reach the same exporters (shutdown is idempotent).
        spanProcessors: processors,
      });
      providers.set(serviceName, provider);
    }
    return provider;
  };
  const provider = providerFor(options.serviceName);
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(serviceTracerProvider(providerFor, provider));
  return {
    provider,
    providerFor,
    spans: () => memory.getFinishedSpans(),
    async shutdown() {
      for (const p of providers.values()) await p.forceFlush();
      for (const p of providers.values()) await p.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/**
 * `host.id` and `host.name`: all services of this process run on one clock. Jaeger's clock-skew
 * adjuster compares a child span with its parent only when their resources name different hosts, and
 * treats a resource without `host.id`/`host.ip` (`ip` for the /api/traces path) as a host of its own: a consumer span that starts after
 * its producer span ended (every asynchronous hop) was then "adjusted" and flagged.
 */
export function hostAttributes(): Record<string, string> {
  const name = hostname();
  let id = name;
  try {
    id = readFileSync('/etc/machine-id', 'utf8').trim() || name;
  } catch {
    // no machine-id (macOS, Windows, containers without it): the host name identifies the host
  }
  const ip =
    Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address ?? '127.0.0.1';
  // `ip`: the process tag Jaeger's query API (its v1 clock-skew adjuster) reads; `host.id` its v2 one.
  return { 'host.id': id, 'host.name': name, 'host.ip': ip, ip };
}
