/**
 * The OpenTelemetry setup the examples use, as a Node service would: AsyncLocalStorage context, a
 * tracer provider, an in-memory copy of every span (so the demo can print journeys) and, when asked,
 * OTLP/HTTP export to Jaeger, the hoptrace collector or any OTLP receiver.
 */
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
  provider: TracerProvider;
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
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: processors,
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(provider);
  return {
    provider,
    spans: () => memory.getFinishedSpans(),
    async shutdown() {
      await provider.forceFlush();
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
