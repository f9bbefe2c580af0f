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
    metrics = createMessagingMetrics(registry, maxDestinations);
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

function createMessagingMetrics(registry: MetricsRegistry, maxDestinations: number): MessagingMetrics {
  const guard = guardFor('metrics');
  const exemplars = registry.contentType === Registry.OPENMETRICS_CONTENT_TYPE;
  if (!exemplars) {
    guard.warnOnce(
      'exemplars',
      'the metrics registry is not OpenMetrics-typed, so histograms carry no trace exemplars; pass one made by createOpenMetricsRegistry() to get them',
    );
  }

  // A name the user already registered is left alone: warn once and record into an unregistered twin.
  const registersFor = (name: string): MetricsRegistry[] => {
    if (!registry.getSingleMetric(name)) return [registry];
    guard.warnOnce(
      `clash:${name}`,
      `metric ${name} already exists in the registry; hoptrace records nothing into it`,
    );
    return [];
  };
  const counter = (name: string, help: string, labelNames: string[]) =>
    new FastCounter({ name, help, labelNames, registers: registersFor(name) });
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new FastGauge({ name, help, labelNames, registers: registersFor(name) });
  const histogram = (name: string, help: string, labelNames: string[], buckets: readonly number[]) =>
    new FastHistogram({ name, help, labelNames, buckets, exemplars, registers: registersFor(name) });

  const set: MetricSet = {
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
    invalidContext: counter(METRIC_INVALID_CONTEXT, 'Incoming header values ignored as invalid, by reason.', [
      LABEL_MESSAGING_SYSTEM,
      'reason',
    ]),
    returned: counter(
      METRIC_RETURNED,
      'Messages the broker returned to the producer as unroutable, by reason.',
      [LABEL_MESSAGING_SYSTEM, LABEL_DESTINATION, 'reason'],
    ),
  };

  // Destinations bounded per messaging system, error types per registry.
  const destinations = new LabelLimiter(maxDestinations);
  const errorTypes = new LabelLimiter(MAX_ERROR_TYPES, '_OTHER');
  const boundErrorType = (raw: string) => errorTypes.bound('', LABEL_ERROR_TYPE, raw);
  // Series handles by system, destination, then operation or group: a lookup on the message path
  // builds no key string and allocates nothing.
  const producers = new Table3<ProducerSeries>();
  const consumers = new Table3<ConsumerSeries>();

  const createProducer = (system: MessagingSystem, destination: string, operationName: string) => {
    const base = { [LABEL_MESSAGING_SYSTEM]: system, [LABEL_DESTINATION]: destination };
    const sent = new Map<string, CounterSeries>();
    const durations = new Table2<HistogramSeries>();
    const returned = new Map<string, CounterSeries>();
    const series: ProducerSeries = {
      sent(errorType = '') {
        const error = boundErrorType(errorType);
        let child = sent.get(error);
        if (!child) {
          child = set.sent.child({
            ...base,
            [LABEL_OPERATION_NAME]: operationName,
            [LABEL_ERROR_TYPE]: error,
          });
          sent.set(error, child);
        }
        child.inc();
      },
      operation(operation, seconds, errorType = '') {
        const error = boundErrorType(errorType);
        const child =
          durations.get(operation, error) ??
          durations.set(
            operation,
            error,
            set.operationDuration.child({
              ...base,
              [LABEL_OPERATION_NAME]: operation,
              [LABEL_ERROR_TYPE]: error,
            }),
          );
        child.observe(seconds);
      },
      returned(reason) {
        let child = returned.get(reason);
        if (!child) {
          child = set.returned.child({ ...base, reason });
          returned.set(reason, child);
        }
        child.inc();
      },
    };
    return series;
  };

  const createConsumer = (system: MessagingSystem, destination: string, groupLabel: string) => {
    const base: Labels = {
      [LABEL_MESSAGING_SYSTEM]: system,
      [LABEL_DESTINATION]: destination,
      [LABEL_CONSUMER_GROUP]: groupLabel,
    };
    const inFlight = set.inFlight.child(base);
    const lastProcessed = set.lastProcessed.child(base);
    const messageAge = set.messageAge.child(base);
    const flowAge = set.flowAge.child(base);
    const redeliveries = set.redeliveries.child(base);
    const deadLettered = new Map<string, CounterSeries>();
    const finishedSeries = new Table2<{ consumed: CounterSeries; duration: HistogramSeries }>();
    const series: ConsumerSeries = {
      started(messageAgeSeconds, flowAgeSeconds, span, nowMs) {
        inFlight.inc();
        const exemplar = exemplars ? span : undefined;
        if (messageAgeSeconds !== undefined)
          messageAge.observe(Math.max(0, messageAgeSeconds), exemplar, nowMs);
        if (flowAgeSeconds !== undefined) flowAge.observe(Math.max(0, flowAgeSeconds), exemplar, nowMs);
      },
      redelivered() {
        redeliveries.inc();
      },
      deadLettered(reason) {
        let child = deadLettered.get(reason);
        if (!child) {
          child = set.deadLettered.child({ ...base, reason });
          deadLettered.set(reason, child);
        }
        child.inc();
      },
      finished(outcome, seconds, errorType = '', span, nowMs) {
        const error = boundErrorType(errorType);
        let children = finishedSeries.get(outcome, error);
        if (!children) {
          const duration = { ...base, [LABEL_OPERATION_NAME]: 'process', [LABEL_ERROR_TYPE]: error };
          children = finishedSeries.set(outcome, error, {
            duration: set.processDuration.child(duration),
            consumed: set.consumed.child({ ...duration, [LABEL_OUTCOME]: outcome }),
          });
        }
        const now = nowMs ?? Date.now();
        children.consumed.inc();
        if (seconds !== undefined) children.duration.observe(seconds, exemplars ? span : undefined, now);
        inFlight.dec();
        lastProcessed.set(now / 1000);
      },
      abandoned() {
        inFlight.dec();
      },
    };
    return series;
  };

  const producer = (system: MessagingSystem, rawDestination: string, operationName: string) => {
    const destination = destinations.bound(system, LABEL_DESTINATION, rawDestination);
    return (
      producers.get(system, destination, operationName) ??
      producers.set(system, destination, operationName, createProducer(system, destination, operationName))
    );
  };

  const consumer = (system: MessagingSystem, rawDestination: string, group: string | undefined) => {
    const destination = destinations.bound(system, LABEL_DESTINATION, rawDestination);
    const groupLabel = group ?? '';
    return (
      consumers.get(system, destination, groupLabel) ??
      consumers.set(system, destination, groupLabel, createConsumer(system, destination, groupLabel))
    );
  };

  const invalid = new Table2<CounterSeries>();
  return {
    producer(system, destination, operationName) {
      try {
        return producer(system, destination, operationName);
      } catch (err) {
        guard.report('metrics', err);
        return NOOP_PRODUCER;
      }
    },
    consumer(system, destination, group) {
      try {
        return consumer(system, destination, group);
      } catch (err) {
        guard.report('metrics', err);
        return NOOP_CONSUMER;
      }
    },
    invalidContext(system, reason) {
      try {
        const child =
          invalid.get(system, reason) ??
          invalid.set(system, reason, set.invalidContext.child({ [LABEL_MESSAGING_SYSTEM]: system, reason }));
        child.inc();
      } catch (err) {
        guard.report('metrics', err);
      }
    },
  };
}

const NOOP_PRODUCER: ProducerSeries = { sent() {}, operation() {}, returned() {} };
const NOOP_CONSUMER: ConsumerSeries = {
  started() {},
  redelivered() {},
  deadLettered() {},
  finished() {},
  abandoned() {},
};
