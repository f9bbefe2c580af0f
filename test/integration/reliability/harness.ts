/**
 * What the reliability tests watch besides their own assertions: every span that starts also ends,
 * nothing reaches the process as an unhandled rejection or uncaught exception, hoptrace's guard never
 * had to swallow one of its own failures (it logs those through `diag` at error level), and no timer or
 * socket is left keeping the process alive.
 */
import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type Span,
  type SpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { installContextManager } from '../../helpers/tracing.js';

/** Tracks every span from onStart to onEnd: what is still open is a dangling span. */
export class SpanTracker implements SpanProcessor {
  private readonly open = new Map<Span, string>();
  started = 0;
  ended = 0;

  onStart(span: Span): void {
    this.started++;
    this.open.set(span, span.name);
  }
  onEnd(span: ReadableSpan): void {
    this.ended++;
    this.open.delete(span as unknown as Span);
  }
  /** Names of the spans started and not ended. */
  dangling(): string[] {
    return [...this.open.values()];
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface TrackedTracing {
  provider: TracerProvider;
  exporter: InMemorySpanExporter;
  tracker: SpanTracker;
  spans(): ReadableSpan[];
}

export function createTrackedTracing(): TrackedTracing {
  installContextManager();
  const exporter = new InMemorySpanExporter();
  const tracker = new SpanTracker();
  const provider = new TracerProvider({
    spanProcessors: [tracker, new SimpleSpanProcessor({ exporter })],
  });
  return { provider, exporter, tracker, spans: () => exporter.getFinishedSpans() };
}

export interface ProcessWatch {
  readonly unhandledRejections: unknown[];
  readonly uncaughtExceptions: unknown[];
  /** Messages hoptrace (or OTel) logged at error level through `diag`. */
  readonly diagErrors: string[];
  /** Removes the listeners and the diag logger. */
  stop(): void;
}

/** Starts recording unhandled rejections, uncaught exceptions and diag errors. */
export function watchProcess(): ProcessWatch {
  const unhandledRejections: unknown[] = [];
  const uncaughtExceptions: unknown[] = [];
  const diagErrors: string[] = [];
  const onRejection = (reason: unknown) => unhandledRejections.push(reason);
  const onException = (error: unknown) => uncaughtExceptions.push(error);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  const ignore = () => {};
  const logger: DiagLogger = {
    error: (message: string, ...args: unknown[]) =>
      diagErrors.push(`${message} ${args.map(String).join(' ')}`),
    warn: ignore,
    info: ignore,
    debug: ignore,
    verbose: ignore,
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.ERROR, suppressOverrideMessage: true });
  return {
    unhandledRejections,
    uncaughtExceptions,
    diagErrors,
    stop() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
      diag.disable();
    },
  };
}

/**
 * Resources keeping the event loop alive, by type (`Timeout`, `TCPSocketWrap`, ...). Node lists only
 * referenced timers, so an `unref()`ed timer does not show.
 */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

/** Lets pending callbacks, microtasks and socket closes run. */
export function settle(ms = 50): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
