/**
 * Every wrapper-side metric of the contract, in one place. Metrics are created once per prom-client
 * registry; wrappers ask for a cached series handle per (system, destination, group) so the message
 * path does no label bookkeeping of its own.
 */
import type { SpanContext } from '@opentelemetry/api';
import { type OpenMetricsContentType, Registry, type RegistryContentType } from 'prom-client';
import { LabelLimiter } from './label-limiter.js';
import {
  type CounterSeries,
  FastCounter,
  FastGauge,
  FastHistogram,
  type GaugeSeries,
  type HistogramSeries,
} from './metric-store.js';
import { DEFAULT_OPTIONS } from './options.js';
import { guardFor } from './safe.js';
import {
  type DeadLetterReason,
  LABEL_CONSUMER_GROUP,
  LABEL_DESTINATION,
  LABEL_ERROR_TYPE,
  LABEL_MESSAGING_SYSTEM,
  LABEL_OPERATION_NAME,
  LABEL_OUTCOME,
  METRIC_CONSUMED_MESSAGES,
  METRIC_DEAD_LETTERED,
  METRIC_FLOW_AGE,
  METRIC_IN_FLIGHT,
  METRIC_INVALID_CONTEXT,
  METRIC_LAST_PROCESSED,
  METRIC_MESSAGE_AGE,
  METRIC_OPERATION_DURATION,
  METRIC_PROCESS_DURATION,
  METRIC_REDELIVERIES,
  METRIC_RETURNED,
  METRIC_SENT_MESSAGES,
  type MessagingSystem,
  type Outcome,
} from './semconv.js';

/**
 * hoptrace's default registry. OpenMetrics-typed because exemplars need it; serve it with
 * `renderMetrics`, which answers Prometheus text or OpenMetrics by the scraper's `Accept` header.
 */
export const metricsRegistry: Registry<OpenMetricsContentType> = createOpenMetricsRegistry();

/** A prom-client registry of either format. */
export type MetricsRegistry = Registry<RegistryContentType>;

/** A new registry in OpenMetrics format, the one that can hold exemplars. */
export function createOpenMetricsRegistry(): Registry<OpenMetricsContentType> {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

export const DEFAULT_MAX_DESTINATIONS = DEFAULT_OPTIONS.maxDestinations;
/** Distinct `error_type` values kept per registry before the rest become `_OTHER` (OTel's catch-all). */
export const MAX_ERROR_TYPES = 50;

export const BUCKETS = {
  operation: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  process: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  age: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
} as const;

type Labels = Record<string, string>;

/** Publish-side series for one (system, destination, operation). */
export interface ProducerSeries {
  /** One message sent (or failed to send, with its error type). */
  sent(errorType?: string): void;
  /** Duration of a client operation (publish, send, confirm, settle). */
  operation(operationName: string, seconds: number, errorType?: string): void;
  /** The broker handed a message back as unroutable (AMQP `mandatory` returns). */
  returned(reason: string): void;
}

/**
 * Consume-side series for one (system, destination, consumer group). `span` (when sampled) becomes the
 * histograms' exemplar; `nowMs` is the caller's wall-clock time of the event (default `Date.now()`).
 */
export interface ConsumerSeries {
  /** A delivery began: in-flight +1, message and flow age observed. */
  started(
    messageAgeSeconds: number | undefined,
    flowAgeSeconds: number | undefined,
    span?: SpanContext,
    nowMs?: number,
  ): void;
  redelivered(): void;
  deadLettered(reason: DeadLetterReason): void;
  /**
   * The delivery's outcome is known: consumed +1, process duration, in-flight -1, last processed now.
   * `processSeconds` undefined: the handler's own time is unknown (a batch message handled without its
   * own delivery), so no duration is observed.
   */
  finished(
    outcome: Outcome,
    processSeconds: number | undefined,
    errorType?: string,
    span?: SpanContext,
    nowMs?: number,
  ): void;
  /** A delivery that ended without an outcome (channel closed): in-flight -1 only. */
  abandoned(): void;
}

export interface MessagingMetrics {
  producer(system: MessagingSystem, destination: string, operationName: string): ProducerSeries;
  consumer(system: MessagingSystem, destination: string, group: string | undefined): ConsumerSeries;
  invalidContext(system: MessagingSystem, reason: string): void;
}

interface MetricSet {
  sent: FastCounter;
  consumed: FastCounter;
  operationDuration: FastHistogram;
  processDuration: FastHistogram;
  messageAge: FastHistogram;
  flowAge: FastHistogram;
  deadLettered: FastCounter;
  redeliveries: FastCounter;
  inFlight: FastGauge;
  lastProcessed: FastGauge;
  invalidContext: FastCounter;
  returned: FastCounter;
}

const perRegistry = new WeakMap<MetricsRegistry, MessagingMetrics>();

/** The metrics of `registry` (default `metricsRegistry`), created on first use. */
export function getMessagingMetrics(
  registry: MetricsRegistry = metricsRegistry,
  maxDestinations: number = DEFAULT_MAX_DESTINATIONS,
): MessagingMetrics {
  let metrics = perRegistry.get(registry);
  if (!metrics) {
    metrics = new RegistryMetrics(registry, maxDestinations);
    perRegistry.set(registry, metrics);
  }
  return metrics;
}

/**
 * Values under two string keys, as nested maps: a lookup builds no key string (no `${a}\0${b}` per
 * message) and allocates nothing.
 */
class Table2<V> {
  private readonly root = new Map<string, Map<string, V>>();

  get(a: string, b: string): V | undefined {
    return this.root.get(a)?.get(b);
  }

  /** Stores `value` and returns it. */
  set(a: string, b: string, value: V): V {
    let level = this.root.get(a);
    if (!level) {
      level = new Map();
      this.root.set(a, level);
    }
    level.set(b, value);
    return value;
  }
}

/** Table2 with a third key. */
class Table3<V> {
  private readonly root = new Map<string, Table2<V>>();

  get(a: string, b: string, c: string): V | undefined {
    return this.root.get(a)?.get(b, c);
  }

  set(a: string, b: string, c: string, value: V): V {
    let level = this.root.get(a);
    if (!level) {
      level = new Table2();
      this.root.set(a, level);
    }
    return level.set(b, c, value);
  }
}

const CONSUMER_LABELS = [LABEL_MESSAGING_SYSTEM, LABEL_DESTINATION, LABEL_CONSUMER_GROUP];

/**
 * The metrics of one registry, in named steps: `registerMetrics` (once), then series handles per
 * (system, destination, operation or group), cached so the message path does no label bookkeeping.
 */
class RegistryMetrics implements MessagingMetrics {
  private readonly guard = guardFor('metrics');
  private readonly set: MetricSet;
  /** Histograms keep exemplars only in an OpenMetrics registry. */
  private readonly exemplars: boolean;
  // Destinations bounded per messaging system, error types per registry.
  private readonly destinations: LabelLimiter;
  private readonly errorTypes = new LabelLimiter(MAX_ERROR_TYPES, '_OTHER');
  // Series handles by system, destination, then operation or group: a lookup on the message path
  // builds no key string and allocates nothing.
  private readonly producers = new Table3<ProducerSeries>();
  private readonly consumers = new Table3<ConsumerSeries>();
  private readonly invalid = new Table2<CounterSeries>();

  constructor(
    private readonly registry: MetricsRegistry,
    maxDestinations: number,
  ) {
    this.exemplars = registry.contentType === Registry.OPENMETRICS_CONTENT_TYPE;
    if (!this.exemplars) {
      this.guard.warnOnce(
        'exemplars',
        'the metrics registry is not OpenMetrics-typed, so histograms carry no trace exemplars; pass one made by createOpenMetricsRegistry() to get them',
      );
    }
    this.destinations = new LabelLimiter(maxDestinations);
    this.set = this.registerMetrics();
  }

  producer(system: MessagingSystem, destination: string, operationName: string): ProducerSeries {
    try {
      // A destination already admitted by the limiter is its own label: found without asking the limiter.
      const known = this.producers.get(system, destination, operationName);
      if (known) return known;
      const bounded = this.destinations.bound(system, LABEL_DESTINATION, destination);
      return (
        this.producers.get(system, bounded, operationName) ??
        this.producers.set(
          system,
          bounded,
          operationName,
          new Producer(this.set, this.boundErrorType, system, bounded, operationName),
        )
      );
    } catch (err) {
      this.guard.report('metrics', err);
      return NOOP_PRODUCER;
    }
  }

  consumer(system: MessagingSystem, destination: string, group: string | undefined): ConsumerSeries {
    try {
      const groupLabel = group ?? '';
      const known = this.consumers.get(system, destination, groupLabel);
      if (known) return known;
      const bounded = this.destinations.bound(system, LABEL_DESTINATION, destination);
      return (
        this.consumers.get(system, bounded, groupLabel) ??
        this.consumers.set(
          system,
          bounded,
          groupLabel,
          new Consumer(this.set, this.boundErrorType, this.exemplars, {
            [LABEL_MESSAGING_SYSTEM]: system,
            [LABEL_DESTINATION]: bounded,
            [LABEL_CONSUMER_GROUP]: groupLabel,
          }),
        )
      );
    } catch (err) {
      this.guard.report('metrics', err);
      return NOOP_CONSUMER;
    }
  }

  invalidContext(system: MessagingSystem, reason: string): void {
    try {
      const child =
        this.invalid.get(system, reason) ??
        this.invalid.set(
          system,
          reason,
          this.set.invalidContext.child({ [LABEL_MESSAGING_SYSTEM]: system, reason }),
        );
      child.inc();
    } catch (err) {
      this.guard.report('metrics', err);
    }
  }

  private readonly boundErrorType = (raw: string): string => this.errorTypes.bound('', LABEL_ERROR_TYPE, raw);

  /** A name the user already registered is left alone: warn once and record into an unregistered twin. */
  private registersFor(name: string): MetricsRegistry[] {
    if (!this.registry.getSingleMetric(name)) return [this.registry];
    this.guard.warnOnce(
      `clash:${name}`,
      `metric ${name} already exists in the registry; hoptrace records nothing into it`,
    );
    return [];
  }

  /** Every wrapper-side metric of the contract, registered once per registry. */
  private registerMetrics(): MetricSet {
    const counter = (name: string, help: string, labelNames: string[]) =>
      new FastCounter({ name, help, labelNames, registers: this.registersFor(name) });
    const gauge = (name: string, help: string, labelNames: string[]) =>
      new FastGauge({ name, help, labelNames, registers: this.registersFor(name) });
    const histogram = (name: string, help: string, labelNames: string[], buckets: readonly number[]) =>
      new FastHistogram({
        name,
        help,
        labelNames,
        buckets,
        exemplars: this.exemplars,
        registers: this.registersFor(name),
      });
    return {
      sent: counter(METRIC_SENT_MESSAGES, 'Messages handed to the broker (or the bus) by producers.', [
        LABEL_MESSAGING_SYSTEM,
        LABEL_DESTINATION,
        LABEL_OPERATION_NAME,
        LABEL_ERROR_TYPE,
      ]),
      consumed: counter(
        METRIC_CONSUMED_MESSAGES,
        'Deliveries processed by consumers, once per delivery, by outcome.',
        [...CONSUMER_LABELS, LABEL_OPERATION_NAME, LABEL_ERROR_TYPE, LABEL_OUTCOME],
      ),
      operationDuration: histogram(
        METRIC_OPERATION_DURATION,
        'Duration of client operations: publish, send, confirm, settle.',
        [LABEL_MESSAGING_SYSTEM, LABEL_DESTINATION, LABEL_OPERATION_NAME, LABEL_ERROR_TYPE],
        BUCKETS.operation,
      ),
      processDuration: histogram(
        METRIC_PROCESS_DURATION,
        'Duration of message handlers.',
        [...CONSUMER_LABELS, LABEL_OPERATION_NAME, LABEL_ERROR_TYPE],
        BUCKETS.process,
      ),
      messageAge: histogram(
        METRIC_MESSAGE_AGE,
        'Time from publish to the start of processing.',
        CONSUMER_LABELS,
        BUCKETS.age,
      ),
      flowAge: histogram(
        METRIC_FLOW_AGE,
        "Time from the flow's first publish to the start of processing.",
        CONSUMER_LABELS,
        BUCKETS.age,
      ),
      deadLettered: counter(
        METRIC_DEAD_LETTERED,
        'Messages dead-lettered, once per dead-letter event, by reason.',
        [...CONSUMER_LABELS, 'reason'],
      ),
      redeliveries: counter(
        METRIC_REDELIVERIES,
        'Deliveries of messages that were delivered before.',
        CONSUMER_LABELS,
      ),
      inFlight: gauge(METRIC_IN_FLIGHT, 'Deliveries started and not yet settled.', CONSUMER_LABELS),
      lastProcessed: gauge(
        METRIC_LAST_PROCESSED,
        'Unix time (seconds) a consumer last finished a delivery.',
        CONSUMER_LABELS,
      ),
      invalidContext: counter(
        METRIC_INVALID_CONTEXT,
        'Incoming header values ignored as invalid, by reason.',
        [LABEL_MESSAGING_SYSTEM, 'reason'],
      ),
      returned: counter(
        METRIC_RETURNED,
        'Messages the broker returned to the producer as unroutable, by reason.',
        [LABEL_MESSAGING_SYSTEM, LABEL_DESTINATION, 'reason'],
      ),
    };
  }
}

/** Publish-side series of one (system, destination, operation), its children resolved on first use. */
class Producer implements ProducerSeries {
  private readonly base: Labels;
  private readonly sentBy = new Map<string, CounterSeries>();
  private readonly durations = new Table2<HistogramSeries>();
  private readonly returnedBy = new Map<string, CounterSeries>();
  // The usual case, a successful send of this series' own operation, without map lookups.
  private okSent: CounterSeries | undefined;
  private okDuration: HistogramSeries | undefined;

  constructor(
    private readonly set: MetricSet,
    private readonly boundErrorType: (raw: string) => string,
    system: MessagingSystem,
    destination: string,
    private readonly operationName: string,
  ) {
    this.base = { [LABEL_MESSAGING_SYSTEM]: system, [LABEL_DESTINATION]: destination };
  }

  sent(errorType = ''): void {
    if (errorType === '' && this.okSent) {
      this.okSent.inc();
      return;
    }
    const error = this.boundErrorType(errorType);
    let child = this.sentBy.get(error);
    if (!child) {
      child = this.set.sent.child({
        ...this.base,
        [LABEL_OPERATION_NAME]: this.operationName,
        [LABEL_ERROR_TYPE]: error,
      });
      this.sentBy.set(error, child);
      if (error === '') this.okSent = child;
    }
    child.inc();
  }

  operation(operation: string, seconds: number, errorType = ''): void {
    if (errorType === '' && operation === this.operationName && this.okDuration) {
      this.okDuration.observe(seconds);
      return;
    }
    const error = this.boundErrorType(errorType);
    const child =
      this.durations.get(operation, error) ??
      this.durations.set(
        operation,
        error,
        this.set.operationDuration.child({
          ...this.base,
          [LABEL_OPERATION_NAME]: operation,
          [LABEL_ERROR_TYPE]: error,
        }),
      );
    if (error === '' && operation === this.operationName) this.okDuration = child;
    child.observe(seconds);
  }

  returned(reason: string): void {
    let child = this.returnedBy.get(reason);
    if (!child) {
      child = this.set.returned.child({ ...this.base, reason });
      this.returnedBy.set(reason, child);
    }
    child.inc();
  }
}

interface FinishedChildren {
  consumed: CounterSeries;
  duration: HistogramSeries;
}

/** Consume-side series of one (system, destination, group): the per-delivery children resolved up front. */
class Consumer implements ConsumerSeries {
  private readonly inFlight: GaugeSeries;
  private readonly lastProcessed: GaugeSeries;
  private readonly messageAge: HistogramSeries;
  private readonly flowAge: HistogramSeries;
  private readonly redeliveries: CounterSeries;
  private readonly deadLetteredBy = new Map<string, CounterSeries>();
  private readonly finishedBy = new Table2<FinishedChildren>();
  private lastOutcome: Outcome | undefined;
  private lastChildren: FinishedChildren | undefined;

  constructor(
    private readonly set: MetricSet,
    private readonly boundErrorType: (raw: string) => string,
    private readonly exemplars: boolean,
    private readonly base: Labels,
  ) {
    this.inFlight = set.inFlight.child(base);
    this.lastProcessed = set.lastProcessed.child(base);
    this.messageAge = set.messageAge.child(base);
    this.flowAge = set.flowAge.child(base);
    this.redeliveries = set.redeliveries.child(base);
  }

  started(
    messageAgeSeconds: number | undefined,
    flowAgeSeconds: number | undefined,
    span?: SpanContext,
    nowMs?: number,
  ): void {
    this.inFlight.inc();
    const exemplar = this.exemplars ? span : undefined;
    if (messageAgeSeconds !== undefined)
      this.messageAge.observe(Math.max(0, messageAgeSeconds), exemplar, nowMs);
    if (flowAgeSeconds !== undefined) this.flowAge.observe(Math.max(0, flowAgeSeconds), exemplar, nowMs);
  }

  redelivered(): void {
    this.redeliveries.inc();
  }

  deadLettered(reason: DeadLetterReason): void {
    let child = this.deadLetteredBy.get(reason);
    if (!child) {
      child = this.set.deadLettered.child({ ...this.base, reason });
      this.deadLetteredBy.set(reason, child);
    }
    child.inc();
  }

  finished(
    outcome: Outcome,
    seconds: number | undefined,
    errorType = '',
    span?: SpanContext,
    nowMs?: number,
  ): void {
    // Most deliveries repeat the previous one's outcome without an error: no map lookups then.
    let children = errorType === '' && outcome === this.lastOutcome ? this.lastChildren : undefined;
    if (!children) children = this.childrenFor(outcome, errorType);
    const now = nowMs ?? Date.now();
    children.consumed.inc();
    if (seconds !== undefined) children.duration.observe(seconds, this.exemplars ? span : undefined, now);
    this.inFlight.dec();
    this.lastProcessed.set(now / 1000);
  }

  private childrenFor(outcome: Outcome, errorType: string): FinishedChildren {
    const error = this.boundErrorType(errorType);
    let children = this.finishedBy.get(outcome, error);
    if (!children) {
      const duration = { ...this.base, [LABEL_OPERATION_NAME]: 'process', [LABEL_ERROR_TYPE]: error };
      children = this.finishedBy.set(outcome, error, {
        duration: this.set.processDuration.child(duration),
        consumed: this.set.consumed.child({ ...duration, [LABEL_OUTCOME]: outcome }),
      });
    }
    if (error === '') {
      this.lastOutcome = outcome;
      this.lastChildren = children;
    }
    return children;
  }

  abandoned(): void {
    this.inFlight.dec();
  }
}

const NOOP_PRODUCER: ProducerSeries = { sent() {}, operation() {}, returned() {} };
const NOOP_CONSUMER: ConsumerSeries = {
  started() {},
  redelivered() {},
  deadLettered() {},
  finished() {},
  abandoned() {},
};
