/**
 * The linker: matches each delivery (consumer `process` span) to the publish (producer span) of
 * its message, and from the matches derives hop latency, fan-out, unconsumed publishes, orphan
 * deliveries, dead-letter hops, duplicates, journeys and synthetic spans. The rules are written
 * down in docs/collector.md ("Linking rules"); the comments here say how they are implemented.
 *
 * State is bounded: publishes and waiting deliveries together by `maxTrackedMessages` (oldest
 * evicted and counted), publishes by `messageTtlMs`, waiting deliveries by `linkWindowMs`,
 * journeys by their own limits. Time is the collector's clock at arrival, not span timestamps, so
 * skewed producer clocks cannot stretch or shrink the windows.
 */

import type { LabelValues } from 'prom-client';
import { destinationLabelOf } from '../../instrumentation/core/destinations.js';
import {
  LABEL_CONSUMER_GROUP,
  LABEL_CONSUMER_SERVICE,
  LABEL_DESTINATION,
  LABEL_PRODUCER_SERVICE,
  METRIC_DEAD_LETTER_HOPS,
  METRIC_DUPLICATE_DELIVERIES,
  METRIC_FANOUT_DELIVERIES,
  METRIC_HOP_LATENCY,
  METRIC_ORPHAN_DELIVERIES,
  METRIC_UNCONSUMED,
} from '../../instrumentation/core/semconv.js';
import type { CollectorLimits } from '../config.js';
import { DEFAULT_LIMITS } from '../config.js';
import { placeSynthetic, syntheticDeliverySpan } from '../exporter/synthetic.js';
import type { FlowVisitor, JourneyFilter, JourneyReader } from '../journey/reader.js';
import type { CollectorMetrics } from '../metrics.js';
import type { Journey, JourneySummary, MatchMethod, SpanRecord } from '../types.js';
import {
  type DeliveryFields,
  deliveryFields,
  messageFields,
  messageLinks,
  roleOf,
  serviceOf,
} from './classify.js';
import {
  add,
  type DeliveryEntry,
  deliveredTo,
  fanOut,
  type GroupState,
  groupLabel,
  isDeadLetterQueueDelivery,
  NONE,
  type PublishEntry,
  REDELIVERING_OUTCOMES,
  sameDestination,
} from './entries.js';
import { JourneyStore, traceJourneyKey } from './journeys.js';

const NO_ATTRIBUTES: Readonly<Record<string, unknown>> = Object.freeze({});

export type LinkerLimits = Pick<
  CollectorLimits,
  | 'maxTrackedMessages'
  | 'messageTtlMs'
  | 'linkWindowMs'
  | 'unconsumedDeadlineMs'
  | 'maxJourneys'
  | 'journeyTtlMs'
  | 'maxJourneyEntries'
>;

export interface LinkerOptions {
  limits?: Partial<LinkerLimits>;
  /** Where hop latency, fan-out, unconsumed, orphans, duplicates and dead-letter hops are recorded. */
  metrics?: CollectorMetrics;
  /** Collector clock in ms. Default `Date.now`. */
  now?: () => number;
  /** Receives synthetic `deliver <destination>` spans as they are made. */
  onSyntheticSpans?: (spans: SpanRecord[]) => void;
}

export interface LinkerStats {
  publish: number;
  pending_delivery: number;
  journey: number;
}

/** Deliveries kept per publish (a requeue loop can deliver one message without end). */
const MAX_DELIVERIES_PER_PUBLISH = 256;
const MAX_INTERNED = 50_000;
/** How long a synthetic span waits for the entries its place depends on (a parent delivery, a dead-lettering one). */
const SYNTHETIC_WAIT_MS = 2_000;
const MAX_SYNTHETIC_WAITING = 10_000;

interface Match {
  publish: PublishEntry;
  method: MatchMethod;
}

/** Implements the journey reader the API, the map and the UI read through (`JourneyReader`). */
export class Linker implements JourneyReader {
  private readonly limits: LinkerLimits;
  private readonly metrics: CollectorMetrics | undefined;
  private readonly now: () => number;
  private readonly onSyntheticSpans: ((spans: SpanRecord[]) => void) | undefined;

  /** By span ID, in arrival order (TTL order). */
  private readonly publishes = new Map<string, PublishEntry>();
  /**
   * Publishes whose unconsumed deadline has not passed, in arrival (= deadline) order: a FIFO
   * array (8 bytes an entry) read from `deadlineHead`; evicted ones are skipped by their flag.
   */
  private awaitingDeadline: PublishEntry[] = [];
  private deadlineHead = 0;
  /** Latest publish per message ID. */
  private readonly publishByMessage = new Map<string, PublishEntry>();

  /** Deliveries waiting for their publish, in arrival order. */
  private readonly pending = new Map<string, DeliveryEntry>();
  private readonly pendingByRef = new Map<string, DeliveryEntry[]>();
  private readonly pendingByMessage = new Map<string, DeliveryEntry[]>();

  private readonly journeys: JourneyStore;
  private readonly interned = new Map<string, string>();
  private synthetic: SpanRecord[] = [];
  /** Linked deliveries whose synthetic span is placed at the next emit (or later, while uncertain). */
  private syntheticQueue: { publish: PublishEntry; delivery: DeliveryEntry; at: number }[] = [];

  constructor(options: LinkerOptions = {}) {
    this.limits = { ...pickLinkerLimits(DEFAULT_LIMITS), ...options.limits };
    this.metrics = options.metrics;
    this.now = options.now ?? Date.now;
    this.onSyntheticSpans = options.onSyntheticSpans;
    this.journeys = new JourneyStore(
      {
        maxJourneys: this.limits.maxJourneys,
        journeyTtlMs: this.limits.journeyTtlMs,
        maxJourneyEntries: this.limits.maxJourneyEntries,
        maxTotalEntries: this.limits.maxTrackedMessages * 2,
      },
      () => this.metrics?.evictions.inc({ kind: 'journey' }),
    );
  }

  stats(): LinkerStats {
    return { publish: this.publishes.size, pending_delivery: this.pending.size, journey: this.journeys.size };
  }

  /** Feeds spans in any order; non-messaging spans are ignored. */
  ingest(spans: Iterable<SpanRecord>): void {
    for (const span of spans) {
      const role = roleOf(span);
      if (role === 'publish') this.addPublish(span);
      else if (role === 'delivery') this.addDelivery(span);
    }
    this.enforceLimit();
    this.emitSynthetic();
  }

  /** Applies deadlines, windows and TTLs that have passed. Called on a timer by the collector. */
  sweep(now = this.now()): void {
    this.expirePending(now);
    this.passDeadlines(now);
    for (const publish of this.publishes.values()) {
      if (publish.arrivedAt + this.limits.messageTtlMs > now) break;
      this.removePublish(publish, false);
    }
    this.journeys.sweep(now);
    this.emitSynthetic();
  }

  /**
   * Ends every window and deadline now (waiting deliveries become orphans, publishes observe
   * fan-out), keeping journeys. For a finished in-process run such as `hoptrace demo`.
   */
  finalize(): void {
    this.expirePending(Number.POSITIVE_INFINITY);
    this.passDeadlines(Number.POSITIVE_INFINITY);
    this.emitSynthetic(true);
  }

  journey(correlationId: string): Journey | undefined {
    return this.journeys.journey(correlationId);
  }

  /** The journey from a message on, while its publish is tracked (`messageTtlMs`). */
  messageJourney(messageId: string): Journey | undefined {
    const publish = this.publishByMessage.get(messageId);
    return publish ? this.journeys.fromMessage(publish.journeyKey, messageId) : undefined;
  }

  recentJourneys(limit: number, filter: JourneyFilter = {}): JourneySummary[] {
    const query = filter.query?.trim();
    let keys: Set<string> | undefined;
    if (query) {
      keys = new Set([query]);
      const byMessage = this.publishByMessage.get(query);
      if (byMessage) keys.add(byMessage.journeyKey);
    }
    return this.journeys.recent(limit, {
      service: filter.service,
      destination: filter.destination,
      outcome: filter.outcome,
      keys,
      keyContains: query ? query.toLowerCase() : undefined,
    });
  }

  visitFlows(visitor: FlowVisitor): void {
    const flags = { fromDeadLetterQueue: false, waiting: false };
    this.journeys.visit(
      (p) => visitor.publish(p),
      (d) => {
        flags.fromDeadLetterQueue = isDeadLetterQueueDelivery(d);
        flags.waiting = d.publish === undefined && this.pending.get(this.pendingKey(d)) === d;
        visitor.delivery(d, flags);
      },
    );
  }

  journeyCount(): number {
    return this.journeys.size;
  }

  // --- publishes

  private addPublish(span: SpanRecord): void {
    const existing = this.publishes.get(span.spanId);
    if (existing && existing.traceId === span.traceId) return; // the same span exported again
    const f = messageFields(span);
    const now = this.now();
    const previous = f.messageId === undefined ? undefined : this.publishByMessage.get(f.messageId);
    const publish: PublishEntry = {
      traceId: span.traceId,
      spanId: span.spanId,
      parentSpanId: span.parentSpanId,
      service: this.intern(serviceOf(span)),
      system: this.intern(f.system),
      destination: this.intern(f.destination),
      destinationLabel: this.intern(f.destinationLabel),
      routingKey: f.routingKey === undefined ? undefined : this.intern(f.routingKey),
      messageId: f.messageId,
      correlationId: f.correlationId,
      startNs: span.startTimeUnixNano,
      arrivedAt: now,
      journeyKey: f.correlationId ?? traceJourneyKey(span.traceId),
      // Publishes of one message ID share delivery state, so duplicates are found per message ID.
      message: previous
        ? previous.message
        : { messageId: f.messageId, groups: NONE, deadLetterSources: NONE },
      deliveries: NONE,
      deadlinePassed: false,
      unconsumed: false,
    };
    this.publishes.set(publish.spanId, publish);
    this.awaitingDeadline.push(publish);
    if (f.messageId !== undefined) this.publishByMessage.set(f.messageId, publish);
    this.journeys.addPublish(publish, now);
    this.wakePending(publish);
  }

  /** Links deliveries that arrived before this publish and were waiting for it. */
  private wakePending(publish: PublishEntry): void {
    const found = new Map<DeliveryEntry, MatchMethod>();
    for (const d of this.pendingByRef.get(publish.spanId) ?? []) {
      const ref = d.refs.find((r) => r.spanId === publish.spanId && r.traceId === publish.traceId);
      if (ref) found.set(d, ref.method);
    }
    if (publish.messageId !== undefined) {
      for (const d of this.pendingByMessage.get(publish.messageId) ?? []) {
        if (!found.has(d) && (d.refs.length === 0 || sameDestination(publish, d))) found.set(d, 'message_id');
      }
    }
    for (const [d, method] of found) {
      this.removePending(d);
      const moved = this.republished(publish, d);
      this.link(d, moved?.publish ?? publish, moved?.method ?? method);
    }
  }

  private removePublish(publish: PublishEntry, evicted: boolean): void {
    this.publishes.delete(publish.spanId);
    if (!publish.deadlinePassed) this.passDeadline(publish, evicted);
    if (publish.messageId !== undefined && this.publishByMessage.get(publish.messageId) === publish) {
      this.publishByMessage.delete(publish.messageId);
    }
  }

  private passDeadlines(now: number): void {
    const queue = this.awaitingDeadline;
    while (this.deadlineHead < queue.length) {
      const publish = queue[this.deadlineHead];
      if (!publish.deadlinePassed && publish.arrivedAt + this.limits.unconsumedDeadlineMs > now) break;
      this.deadlineHead++;
      if (!publish.deadlinePassed) this.passDeadline(publish, false);
    }
    // Drop the consumed head once it is most of the array.
    if (this.deadlineHead > 1024 && this.deadlineHead * 2 > queue.length) {
      this.awaitingDeadline = queue.slice(this.deadlineHead);
      this.deadlineHead = 0;
    }
  }

  /**
   * Fan-out is observed once per publish, at its deadline or when it is evicted before it. Only a
   * publish whose deadline really passed can be unconsumed: an evicted one is counted as an eviction.
   */
  private passDeadline(publish: PublishEntry, evicted: boolean): void {
    publish.deadlinePassed = true;
    const m = this.metrics;
    const labels = m && {
      messaging_system: publish.system,
      [LABEL_DESTINATION]: m.bounded(METRIC_FANOUT_DELIVERIES, LABEL_DESTINATION, publish.destinationLabel),
      [LABEL_PRODUCER_SERVICE]: m.bounded(METRIC_FANOUT_DELIVERIES, LABEL_PRODUCER_SERVICE, publish.service),
    };
    const deliveredGroups = fanOut(publish);
    if (m && labels) m.fanout.observe(labels, deliveredGroups);
    if (evicted || deliveredGroups > 0) return;
    publish.unconsumed = true;
    if (m) {
      m.unconsumed.inc({
        messaging_system: publish.system,
        [LABEL_DESTINATION]: m.bounded(METRIC_UNCONSUMED, LABEL_DESTINATION, publish.destinationLabel),
        [LABEL_PRODUCER_SERVICE]: m.bounded(METRIC_UNCONSUMED, LABEL_PRODUCER_SERVICE, publish.service),
      });
    }
  }

  // --- deliveries

  private addDelivery(span: SpanRecord): void {
    const f = deliveryFields(span);
    const now = this.now();
    const spanLinks = messageLinks(span);
    if (f.batch && spanLinks.length > 0) {
      // One delivery per message of the batch, each identified only by its link.
      for (const link of spanLinks) {
        this.addDeliveryUnit(
          this.newDelivery(span, f, [{ traceId: link.traceId, spanId: link.spanId, method: 'link' }], now),
        );
      }
      return;
    }
    // Built at exact size: a pushed-to array reserves room for 16 more.
    const links = spanLinks.map((link) => ({
      traceId: link.traceId,
      spanId: link.spanId,
      method: 'link' as const,
    }));
    const refs: DeliveryEntry['refs'] =
      span.parentSpanId === undefined
        ? links
        : [{ traceId: span.traceId, spanId: span.parentSpanId, method: 'parent' }, ...links];
    this.addDeliveryUnit(this.newDelivery(span, f, refs, now));
  }

  /** One literal with every field, so all deliveries share one hidden class. */
  private newDelivery(
    span: SpanRecord,
    f: DeliveryFields,
    refs: DeliveryEntry['refs'],
    now: number,
  ): DeliveryEntry {
    return {
      traceId: span.traceId,
      spanId: span.spanId,
      parentSpanId: span.parentSpanId,
      service: this.intern(serviceOf(span)),
      system: this.intern(f.system),
      destination: this.intern(f.destination),
      destinationLabel: this.intern(f.destinationLabel),
      group: this.intern(f.group),
      groupNamed: f.groupNamed,
      messageId: f.batch ? undefined : f.messageId,
      correlationId: f.correlationId,
      attempt: f.attempt,
      outcome: f.outcome === undefined ? undefined : this.intern(f.outcome),
      deadLetterReason: f.deadLetterReason,
      deadLetterSource: f.deadLetterSource,
      errorType: f.errorType,
      statusError: span.status.code === 'error',
      host: span.host,
      startNs: span.startTimeUnixNano,
      endNs: span.endTimeUnixNano,
      arrivedAt: now,
      refs,
      batch: f.batch,
      publish: undefined,
      matchedBy: undefined,
      latencyMs: undefined,
      duplicate: false,
      journeyKey: undefined,
    };
  }

  private pendingKey(d: DeliveryEntry): string {
    return d.batch ? `${d.spanId}:${d.refs[0]?.spanId}` : d.spanId;
  }

  private addDeliveryUnit(d: DeliveryEntry): void {
    if (this.pending.has(this.pendingKey(d))) return; // the same span exported again while waiting
    const match = this.findPublish(d);
    if (match) {
      this.link(d, match.publish, match.method);
      return;
    }
    if (d.refs.length === 0 && d.messageId === undefined) {
      // Nothing stronger to wait for: the correlation ID is the only key.
      const byCorrelation = this.correlationMatch(d);
      if (byCorrelation) {
        this.link(d, byCorrelation, 'correlation_id');
        return;
      }
      if (d.correlationId === undefined) {
        this.orphan(d); // nothing could ever match it
        return;
      }
    }
    this.addPending(d);
  }

  private findPublish(d: DeliveryEntry): Match | undefined {
    for (const ref of d.refs) {
      const publish = this.publishes.get(ref.spanId);
      if (publish && publish.traceId === ref.traceId)
        return this.republished(publish, d) ?? { publish, method: ref.method };
    }
    if (d.messageId !== undefined) {
      const publish = this.publishByMessage.get(d.messageId);
      if (publish && (d.refs.length === 0 || sameDestination(publish, d)))
        return { publish, method: 'message_id' };
    }
    return undefined;
  }

  /**
   * A message republished under its own ID to another destination keeps the original trace
   * context (Kafka dead-letter topics copy the headers), so its deliveries point at the original
   * publish. When a publish of the same message ID on the delivery's destination is known, the
   * delivery belongs to that one.
   */
  private republished(matched: PublishEntry, d: DeliveryEntry): Match | undefined {
    if (d.messageId === undefined || sameDestination(matched, d)) return undefined;
    const latest = this.publishByMessage.get(d.messageId);
    return latest && latest !== matched && sameDestination(latest, d)
      ? { publish: latest, method: 'message_id' }
      : undefined;
  }

  /**
   * Last resort: a publish with the same correlation ID to the delivery's destination (or routing
   * key), preferring one not yet delivered to this group, then the latest that started before it.
   */
  private correlationMatch(d: DeliveryEntry): PublishEntry | undefined {
    if (d.batch || d.correlationId === undefined) return undefined;
    // The journey of the correlation ID holds its publishes; only those still tracked can match.
    const list = this.journeys.publishesOf(d.correlationId).filter((p) => this.publishes.get(p.spanId) === p);
    let best: PublishEntry | undefined;
    let bestScore = -1;
    for (const p of list) {
      if (!sameDestination(p, d)) continue;
      const score = (deliveredTo(p, d.group) ? 0 : 2) + (p.startNs <= d.startNs ? 1 : 0);
      if (score > bestScore || (score === bestScore && best && p.startNs > best.startNs)) {
        best = p;
        bestScore = score;
      }
    }
    return best;
  }

  private addPending(d: DeliveryEntry): void {
    this.pending.set(this.pendingKey(d), d);
    for (const ref of d.refs) pushTo(this.pendingByRef, ref.spanId, d);
    if (d.messageId !== undefined) pushTo(this.pendingByMessage, d.messageId, d);
    // Visible in its journey while it waits.
    if (d.correlationId !== undefined) this.journeys.addDelivery(d, d.correlationId, d.arrivedAt);
  }

  private removePending(d: DeliveryEntry): void {
    this.pending.delete(this.pendingKey(d));
    for (const ref of d.refs) removeFrom(this.pendingByRef, ref.spanId, d);
    if (d.messageId !== undefined) removeFrom(this.pendingByMessage, d.messageId, d);
  }

  private expirePending(now: number): void {
    for (const d of this.pending.values()) {
      if (d.arrivedAt + this.limits.linkWindowMs > now) break;
      this.removePending(d);
      // The window passed without the span contexts it refers to: fall back to weaker keys.
      const byMessage = d.messageId === undefined ? undefined : this.publishByMessage.get(d.messageId);
      const byCorrelation = byMessage ? undefined : this.correlationMatch(d);
      if (byMessage) this.link(d, byMessage, 'message_id');
      else if (byCorrelation) this.link(d, byCorrelation, 'correlation_id');
      else this.orphan(d);
    }
  }

  private orphan(d: DeliveryEntry): void {
    if (d.journeyKey === undefined)
      this.journeys.addDelivery(d, d.correlationId ?? traceJourneyKey(d.traceId), this.now());
    const m = this.metrics;
    if (!m) return;
    m.orphans.inc({
      messaging_system: d.system,
      [LABEL_DESTINATION]: m.bounded(METRIC_ORPHAN_DELIVERIES, LABEL_DESTINATION, d.destinationLabel),
      [LABEL_CONSUMER_GROUP]: m.bounded(METRIC_ORPHAN_DELIVERIES, LABEL_CONSUMER_GROUP, groupLabel(d)),
      [LABEL_CONSUMER_SERVICE]: m.bounded(METRIC_ORPHAN_DELIVERIES, LABEL_CONSUMER_SERVICE, d.service),
    });
  }

  // --- a match

  private groupState(publish: PublishEntry, group: string): GroupState {
    let state = publish.message.groups.find((g) => g.group === group);
    if (!state) {
      state = { group, attemptsSeen: 0, maxAttempt: 0, lastOutcome: undefined, lastStartNs: -1n };
      publish.message.groups = add(publish.message.groups, state);
    }
    return state;
  }

  /**
   * Duplicate rule, per message ID (or publish, without one) and consumer group:
   * - the same consumer span again (an exporter retry) is ignored;
   * - a delivery whose `hoptrace.delivery.attempt` is higher than any seen is a redelivery;
   * - a delivery after one (by start time) whose outcome was `requeue`, `retry` or `error` is a
   *   redelivery (classic RabbitMQ queues carry no delivery count, only the requeue);
   * - a delivery that started before the latest one seen, or repeats no attempt number seen, is not
   *   judged a duplicate (it arrived late and the later one was judged already);
   * - anything else is a duplicate: the group got the same message again after it was settled.
   */
  private classifyRepeat(
    publish: PublishEntry,
    state: GroupState,
    d: DeliveryEntry,
  ): 'ignore' | 'first' | 'redelivery' | 'duplicate' {
    if (publish.deliveries.some((x) => x.spanId === d.spanId && x.group === d.group)) return 'ignore';
    if (state.lastStartNs < 0n) return 'first';
    const attemptKnown = d.attempt !== undefined && state.maxAttempt > 0;
    if (attemptKnown && d.attempt! > state.maxAttempt) return 'redelivery';
    if (d.startNs < state.lastStartNs) return 'redelivery';
    if (state.lastOutcome !== undefined && REDELIVERING_OUTCOMES.has(state.lastOutcome)) return 'redelivery';
    if (attemptKnown && d.attempt! <= 30 && (state.attemptsSeen & (1 << d.attempt!)) === 0)
      return 'redelivery';
    return 'duplicate';
  }

  private link(d: DeliveryEntry, publish: PublishEntry, method: MatchMethod): void {
    const state = this.groupState(publish, d.group);
    const repeat = this.classifyRepeat(publish, state, d);
    if (repeat === 'ignore') return;
    if (d.attempt !== undefined) {
      if (d.attempt <= 30) state.attemptsSeen |= 1 << d.attempt;
      if (d.attempt > state.maxAttempt) state.maxAttempt = d.attempt;
    }
    if (d.startNs >= state.lastStartNs) {
      state.lastOutcome = d.outcome;
      state.lastStartNs = d.startNs;
    }

    d.publish = publish;
    d.matchedBy = method;
    d.refs = NONE;
    // Share the publish's copies of equal strings: the delivery's own become garbage.
    if (d.traceId === publish.traceId) d.traceId = publish.traceId;
    if (d.parentSpanId === publish.spanId) d.parentSpanId = publish.spanId;
    if (d.messageId === publish.messageId) d.messageId = publish.messageId;
    if (d.correlationId === publish.correlationId) d.correlationId = publish.correlationId;
    d.latencyMs = Number(d.startNs - publish.startNs) / 1e6;
    d.duplicate = repeat === 'duplicate';
    const fromDeadLetterQueue = isDeadLetterQueueDelivery(d, publish);
    const newGroup = !fromDeadLetterQueue && !deliveredTo(publish, d.group);
    if (publish.deliveries.length < MAX_DELIVERIES_PER_PUBLISH)
      publish.deliveries = add(publish.deliveries, d);
    if (d.journeyKey === undefined) {
      this.journeys.addDelivery(d, d.correlationId ?? publish.journeyKey, this.now());
    }
    const m = this.metrics;
    if (m) {
      if (d.duplicate) {
        m.duplicates.inc({
          messaging_system: d.system,
          [LABEL_DESTINATION]: m.bounded(METRIC_DUPLICATE_DELIVERIES, LABEL_DESTINATION, d.destinationLabel),
          [LABEL_CONSUMER_GROUP]: m.bounded(METRIC_DUPLICATE_DELIVERIES, LABEL_CONSUMER_GROUP, groupLabel(d)),
          [LABEL_CONSUMER_SERVICE]: m.bounded(METRIC_DUPLICATE_DELIVERIES, LABEL_CONSUMER_SERVICE, d.service),
        });
      }
      const firstAttempt = d.attempt === 1 || (d.attempt === undefined && newGroup);
      if (firstAttempt && !d.duplicate && !fromDeadLetterQueue) this.observeHop(publish, d);
      this.countDeadLetter(publish, d, fromDeadLetterQueue);
    }
    if (this.onSyntheticSpans) this.syntheticQueue.push({ publish, delivery: d, at: this.now() });
  }

  private observeHop(publish: PublishEntry, d: DeliveryEntry): void {
    const m = this.metrics!;
    m.hopLatency.observe({
      labels: {
        [LABEL_PRODUCER_SERVICE]: m.bounded(METRIC_HOP_LATENCY, LABEL_PRODUCER_SERVICE, publish.service),
        [LABEL_CONSUMER_SERVICE]: m.bounded(METRIC_HOP_LATENCY, LABEL_CONSUMER_SERVICE, d.service),
        messaging_system: d.system,
        [LABEL_DESTINATION]: m.bounded(METRIC_HOP_LATENCY, LABEL_DESTINATION, d.destinationLabel),
        [LABEL_CONSUMER_GROUP]: m.bounded(METRIC_HOP_LATENCY, LABEL_CONSUMER_GROUP, groupLabel(d)),
      },
      value: Math.max(0, d.latencyMs ?? 0) / 1000,
      // prom-client types exemplar labels as the metric's labels; exemplars have their own.
      exemplarLabels: { trace_id: d.traceId, span_id: d.spanId } as LabelValues<string>,
    });
  }

  /**
   * A dead-letter hop is seen twice for one message: on the consumer that dead-lettered it
   * (outcome `dead_letter`, source = its destination) and on the dead-letter queue's consumer
   * (`hoptrace.dead_letter.source`). Counted once per message (ID) and source.
   */
  private countDeadLetter(publish: PublishEntry, d: DeliveryEntry, fromDeadLetterQueue: boolean): void {
    if (d.outcome !== 'dead_letter' && !fromDeadLetterQueue) return;
    const source = d.outcome === 'dead_letter' ? d.destination : d.deadLetterSource;
    const counted = publish.message.deadLetterSources;
    if (source === undefined ? counted.length > 0 : counted.includes(source)) return;
    publish.message.deadLetterSources = add(counted, source ?? 'unknown');
    const m = this.metrics!;
    m.deadLetterHops.inc({
      messaging_system: d.system,
      [LABEL_DESTINATION]: m.bounded(
        METRIC_DEAD_LETTER_HOPS,
        LABEL_DESTINATION,
        d.outcome === 'dead_letter' || source === undefined
          ? d.destinationLabel
          : destinationLabelOf(source, NO_ATTRIBUTES),
      ),
      [LABEL_CONSUMER_GROUP]:
        d.outcome === 'dead_letter'
          ? m.bounded(METRIC_DEAD_LETTER_HOPS, LABEL_CONSUMER_GROUP, groupLabel(d))
          : '',
      reason: m.bounded(METRIC_DEAD_LETTER_HOPS, 'reason', d.deadLetterReason ?? 'unknown'),
    });
  }

  // --- bounds

  private enforceLimit(): void {
    while (this.publishes.size + this.pending.size > this.limits.maxTrackedMessages) {
      const oldestPublish = this.publishes.values().next().value;
      const oldestPending = this.pending.values().next().value;
      if (oldestPending && (!oldestPublish || oldestPending.arrivedAt < oldestPublish.arrivedAt)) {
        this.removePending(oldestPending);
        if (oldestPending.journeyKey === undefined) {
          this.journeys.addDelivery(oldestPending, traceJourneyKey(oldestPending.traceId), this.now());
        }
        this.metrics?.evictions.inc({ kind: 'pending_delivery' });
      } else if (oldestPublish) {
        this.removePublish(oldestPublish, true);
        this.metrics?.evictions.inc({ kind: 'publish' });
      } else {
        return;
      }
    }
  }

  private intern(value: string): string {
    const known = this.interned.get(value);
    if (known !== undefined) return known;
    if (this.interned.size < MAX_INTERNED) this.interned.set(value, value);
    return value;
  }

  /**
   * Places queued synthetic spans in their origin's trace. A placement that depends on an entry not
   * seen yet (the delivery that made a second-hop publish, the delivery that dead-lettered) waits up to
   * SYNTHETIC_WAIT_MS for it, then hangs where it can.
   */
  private emitSynthetic(force = false): void {
    if (this.syntheticQueue.length > 0) {
      const now = this.now();
      const lookup = (key: string, spanId: string) => this.journeys.deliveryBySpan(key, spanId);
      const waiting: typeof this.syntheticQueue = [];
      for (const item of this.syntheticQueue) {
        const placed = placeSynthetic(item.publish, item.delivery, lookup);
        const wait = !placed.certain && !force && now - item.at < SYNTHETIC_WAIT_MS;
        if (wait && waiting.length < MAX_SYNTHETIC_WAITING) waiting.push(item);
        else if (placed.needed)
          this.synthetic.push(syntheticDeliverySpan(item.publish, item.delivery, placed.anchor));
      }
      this.syntheticQueue = waiting;
    }
    if (this.synthetic.length === 0 || !this.onSyntheticSpans) return;
    const spans = this.synthetic;
    this.synthetic = [];
    this.onSyntheticSpans(spans);
  }
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function removeFrom<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (!list) return;
  const i = list.indexOf(value);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) map.delete(key);
}

export function pickLinkerLimits(limits: CollectorLimits): LinkerLimits {
  return {
    maxTrackedMessages: limits.maxTrackedMessages,
    messageTtlMs: limits.messageTtlMs,
    linkWindowMs: limits.linkWindowMs,
    unconsumedDeadlineMs: limits.unconsumedDeadlineMs,
    maxJourneys: limits.maxJourneys,
    journeyTtlMs: limits.journeyTtlMs,
    maxJourneyEntries: limits.maxJourneyEntries,
  };
}
