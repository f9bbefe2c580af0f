/**
 * Keeps publishes and deliveries per journey (correlation ID) for the journeys API, bounded in
 * journeys, in entries per journey and in entries overall, and builds the journey tree on request.
 */
import type { JourneyOutcomeFilter } from '../journey/reader.js';
import type { Journey, JourneyAttempt, JourneyDelivery, JourneyPublish, JourneySummary } from '../types.js';
import {
  add,
  type DeliveryEntry,
  isDeadLetterQueueDelivery,
  NONE,
  type PublishEntry,
  readsDeadLetter,
} from './entries.js';

interface JourneyEntries {
  key: string;
  /** Publishes and deliveries, in one array (one array less per journey). */
  items: (PublishEntry | DeliveryEntry)[];
  updatedAt: number;
  lastSeenNs: bigint;
  truncated: boolean;
}

export interface JourneyStoreLimits {
  maxJourneys: number;
  journeyTtlMs: number;
  maxJourneyEntries: number;
  /** Entries across all journeys. */
  maxTotalEntries: number;
}

function isPublish(item: PublishEntry | DeliveryEntry): item is PublishEntry {
  return (item as PublishEntry).message !== undefined;
}

/** Journey key of spans without a correlation ID. */
export function traceJourneyKey(traceId: string): string {
  return `trace:${traceId}`;
}

function nsToIso(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

/** Narrowing of `JourneyStore.recent`; `keys` (exact) and `keyContains` (lowercase substring) are alternatives. */
export interface SummaryFilter {
  service?: string;
  destination?: string;
  outcome?: JourneyOutcomeFilter;
  keys?: ReadonlySet<string>;
  keyContains?: string;
}

function hasOutcome(s: JourneySummary, outcome: JourneyOutcomeFilter): boolean {
  switch (outcome) {
    case 'dead_lettered':
      return s.deadLetters > 0;
    case 'retried':
      return s.retries > 0;
    case 'unconsumed':
      return s.unconsumed > 0;
    case 'orphaned':
      return s.orphans > 0;
    case 'duplicated':
      return s.duplicates > 0;
    case 'failed':
      return s.errors > 0;
  }
}

/** Whether an attempt failed, as any client's span says it: error status or `error.type`. */
export function attemptFailed(d: DeliveryEntry): boolean {
  return d.statusError || d.errorType !== undefined;
}

/** A journey's list entry, from its kept entries (the same rules as `buildJourney`, without the tree). */
function summarize(j: JourneyEntries): JourneySummary {
  const services: string[] = [];
  const destinations: string[] = [];
  const note = (list: string[], value: string) => {
    if (!list.includes(value)) list.push(value);
  };
  let publishes = 0;
  let deliveries = 0;
  let duplicates = 0;
  let orphans = 0;
  let unconsumed = 0;
  let errors = 0;
  let firstNs: bigint | undefined;
  /** Non-duplicate deliveries per publish and group: each beyond the first is a retry. */
  const perGroup = new Map<string, number>();
  const deadLetters = new Set<string>();
  for (const item of j.items) {
    if (firstNs === undefined || item.startNs < firstNs) firstNs = item.startNs;
    note(services, item.service);
    note(destinations, item.destination);
    if (isPublish(item)) {
      publishes++;
      if (item.unconsumed && item.deliveries.length === 0) unconsumed++;
      continue;
    }
    deliveries++;
    if (item.duplicate) duplicates++;
    if (!item.publish) orphans++;
    if (attemptFailed(item)) errors++;
    const owner = item.publish?.spanId ?? item.spanId;
    if (!item.duplicate) {
      const key = `${owner}\u0000${item.destination}\u0000${item.group}`;
      perGroup.set(key, (perGroup.get(key) ?? 0) + 1);
    }
    if (item.outcome === 'dead_letter') deadLetters.add(`${owner}\u0000${item.destination}`);
    else if (isDeadLetterQueueDelivery(item))
      deadLetters.add(`${owner}\u0000${item.deadLetterSource ?? '?'}`);
  }
  let retries = 0;
  for (const n of perGroup.values()) retries += n - 1;
  return {
    correlationId: j.key,
    publishes,
    deliveries,
    firstSeen: nsToIso(firstNs ?? j.lastSeenNs),
    lastSeen: nsToIso(j.lastSeenNs),
    services,
    destinations,
    retries,
    deadLetters: deadLetters.size,
    duplicates,
    orphans,
    unconsumed,
    errors,
    truncated: j.truncated,
  };
}

function nsToMs(ns: bigint): number {
  return Number(ns) / 1e6;
}

export class JourneyStore {
  /** In least-recently-updated order: updates move a journey to the end. */
  private readonly journeys = new Map<string, JourneyEntries>();
  private totalEntries = 0;

  constructor(
    private readonly limits: JourneyStoreLimits,
    private readonly onEvict: () => void = () => {},
  ) {}

  get size(): number {
    return this.journeys.size;
  }

  get entries(): number {
    return this.totalEntries;
  }

  private touch(key: string, now: number): JourneyEntries {
    let journey = this.journeys.get(key);
    if (journey) {
      this.journeys.delete(key);
    } else {
      journey = { key, items: NONE, updatedAt: now, lastSeenNs: 0n, truncated: false };
    }
    journey.updatedAt = now;
    this.journeys.set(key, journey);
    return journey;
  }

  private full(journey: JourneyEntries): boolean {
    if (journey.items.length < this.limits.maxJourneyEntries) return false;
    journey.truncated = true;
    return true;
  }

  addPublish(publish: PublishEntry, now: number): void {
    const journey = this.touch(publish.journeyKey, now);
    if (publish.startNs > journey.lastSeenNs) journey.lastSeenNs = publish.startNs;
    if (this.full(journey)) return;
    journey.items = add(journey.items, publish);
    this.totalEntries++;
    this.enforce();
  }

  addDelivery(delivery: DeliveryEntry, key: string, now: number): void {
    delivery.journeyKey = key;
    const journey = this.touch(key, now);
    if (delivery.startNs > journey.lastSeenNs) journey.lastSeenNs = delivery.startNs;
    if (this.full(journey)) return;
    journey.items = add(journey.items, delivery);
    this.totalEntries++;
    this.enforce();
  }

  private remove(journey: JourneyEntries): void {
    this.journeys.delete(journey.key);
    this.totalEntries -= journey.items.length;
  }

  private enforce(): void {
    while (this.journeys.size > this.limits.maxJourneys || this.totalEntries > this.limits.maxTotalEntries) {
      const oldest = this.journeys.values().next().value;
      if (!oldest) return;
      this.remove(oldest);
      this.onEvict();
    }
  }

  sweep(now: number): void {
    for (const journey of this.journeys.values()) {
      if (journey.updatedAt + this.limits.journeyTtlMs > now) break;
      this.remove(journey);
    }
  }

  /**
   * Most recently updated journeys first, narrowed by `filter`. Journeys without a correlation ID
   * (`trace:<id>` keys) are listed only when a filter is given (e.g. orphans, which rarely have one).
   */
  recent(limit: number, filter: SummaryFilter = {}): JourneySummary[] {
    const out: JourneySummary[] = [];
    const filtered =
      filter.service !== undefined ||
      filter.destination !== undefined ||
      filter.outcome !== undefined ||
      filter.keys !== undefined ||
      filter.keyContains !== undefined;
    const all = [...this.journeys.values()];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
      const j = all[i];
      if (!filtered && j.key.startsWith('trace:')) continue;
      if (filter.keys !== undefined || filter.keyContains !== undefined) {
        const byKey = filter.keys?.has(j.key) ?? false;
        const byText = filter.keyContains !== undefined && j.key.toLowerCase().includes(filter.keyContains);
        if (!byKey && !byText) continue;
      }
      const summary = summarize(j);
      if (filter.service !== undefined && !summary.services.includes(filter.service)) continue;
      if (filter.destination !== undefined && !summary.destinations.includes(filter.destination)) continue;
      if (filter.outcome !== undefined && !hasOutcome(summary, filter.outcome)) continue;
      out.push(summary);
    }
    return out;
  }

  /** Every kept publish and delivery, once each. */
  visit(onPublish: (p: PublishEntry) => void, onDelivery: (d: DeliveryEntry) => void): void {
    for (const j of this.journeys.values()) {
      for (const item of j.items) {
        if (isPublish(item)) onPublish(item);
        else onDelivery(item);
      }
    }
  }

  journey(key: string): Journey | undefined {
    const entries = this.journeys.get(key);
    return entries ? buildJourney(entries) : undefined;
  }

  /** The delivery of a journey whose span is `spanId` (synthetic spans find a publish's parent delivery). */
  deliveryBySpan(key: string, spanId: string): DeliveryEntry | undefined {
    const items = this.journeys.get(key)?.items;
    if (!items) return undefined;
    for (const item of items) if (!isPublish(item) && item.spanId === spanId) return item;
    return undefined;
  }

  /** Publishes kept in a journey (the correlation-ID fallback of the linker looks here). */
  publishesOf(key: string): PublishEntry[] {
    return (this.journeys.get(key)?.items.filter(isPublish) ?? []).slice(-64);
  }

  /** The part of a journey from a message's publishes on. */
  fromMessage(key: string, messageId: string): Journey | undefined {
    const entries = this.journeys.get(key);
    if (!entries) return undefined;
    const full = buildJourney(entries);
    const roots: JourneyPublish[] = [];
    const visit = (p: JourneyPublish): void => {
      if (p.messageId === messageId) {
        roots.push(p);
        return;
      }
      for (const d of p.deliveries) for (const child of d.publishes) visit(child);
    };
    for (const p of full.publishes) visit(p);
    return { ...full, messageId, publishes: roots };
  }
}

/** Finds the delivery attempt during whose handling a publish was made (same trace). */
function parentAttempt(publish: PublishEntry, candidates: DeliveryEntry[]): DeliveryEntry | undefined {
  let best: DeliveryEntry | undefined;
  for (const d of candidates) {
    if (d.publish === publish || d.traceId !== publish.traceId) continue;
    if (publish.parentSpanId !== undefined && publish.parentSpanId === d.spanId) return d;
    if (d.service === publish.service && d.startNs <= publish.startNs && publish.startNs <= d.endNs) {
      if (!best || d.startNs > best.startNs) best = d;
    }
  }
  return best;
}

function attemptView(d: DeliveryEntry): JourneyAttempt {
  const view: JourneyAttempt = {
    attempt: d.attempt ?? 1,
    outcome: d.outcome,
    service: d.service,
    traceId: d.traceId,
    spanId: d.spanId,
    startTime: nsToIso(d.startNs),
    durationMs: nsToMs(d.endNs - d.startNs),
    latencyMs: d.latencyMs,
    matchedBy: d.matchedBy,
  };
  if (d.errorType !== undefined) view.errorType = d.errorType;
  if (d.deadLetterReason !== undefined) view.deadLetterReason = d.deadLetterReason;
  if (d.deadLetterSource !== undefined) view.deadLetterSource = d.deadLetterSource;
  if (d.duplicate) view.duplicate = true;
  return view;
}

function groupDeliveries(deliveries: DeliveryEntry[]): Map<string, DeliveryEntry[]> {
  const groups = new Map<string, DeliveryEntry[]>();
  for (const d of deliveries) {
    const key = `${d.destination}\u0000${d.group}\u0000${d.service}`;
    let list = groups.get(key);
    if (!list) {
      list = [];
      groups.set(key, list);
    }
    list.push(d);
  }
  for (const list of groups.values()) {
    list.sort(
      (a, b) =>
        (a.attempt ?? 1) - (b.attempt ?? 1) || (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0),
    );
  }
  return groups;
}

/**
 * Dead-letter events among a publish's deliveries: the consumer that dead-lettered a message and
 * the dead-letter queue's consumer that read it are one event per source.
 */
function deadLetterEvents(publish: PublishEntry): number {
  const sources: (string | undefined)[] = [];
  for (const d of publish.deliveries) {
    if (d.outcome === 'dead_letter') {
      if (!sources.includes(d.destination)) sources.push(d.destination);
    } else if (isDeadLetterQueueDelivery(d, publish)) {
      const source = d.deadLetterSource;
      if (source === undefined ? sources.length === 0 : !sources.includes(source)) sources.push(source);
    }
  }
  return sources.length;
}

export function buildJourney(entries: JourneyEntries): Journey {
  const publishes = new Set<PublishEntry>();
  const deliveries = new Set<DeliveryEntry>();
  for (const item of entries.items) {
    if (isPublish(item)) {
      publishes.add(item);
    } else {
      deliveries.add(item);
      if (item.publish) publishes.add(item.publish);
    }
  }
  for (const p of publishes) for (const d of p.deliveries) deliveries.add(d);
  const allDeliveries = [...deliveries];

  // Which delivery attempt each publish was made from (follow-on publishes).
  const childrenOf = new Map<DeliveryEntry, PublishEntry[]>();
  const roots: PublishEntry[] = [];
  for (const p of publishes) {
    const parent = parentAttempt(p, allDeliveries);
    if (!parent) {
      roots.push(p);
      continue;
    }
    let list = childrenOf.get(parent);
    if (!list) {
      list = [];
      childrenOf.set(parent, list);
    }
    list.push(p);
  }
  const byTime = (a: PublishEntry, b: PublishEntry) =>
    a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0;

  const counts = {
    publishes: 0,
    deliveries: 0,
    retries: 0,
    deadLetters: 0,
    duplicates: 0,
    orphans: 0,
    unconsumed: 0,
  };
  const visited = new Set<PublishEntry>();

  const deliveryView = (list: DeliveryEntry[]): JourneyDelivery => {
    const first = list[0];
    const last = list[list.length - 1];
    const attempts = list.map(attemptView);
    const deadLettered = list.find((d) => d.outcome === 'dead_letter' || readsDeadLetter(d));
    const nested: JourneyPublish[] = [];
    for (const d of list) {
      for (const child of (childrenOf.get(d) ?? []).sort(byTime)) {
        const view = publishView(child);
        if (view) nested.push(view);
      }
    }
    const retries = list.filter((d) => !d.duplicate).length - 1;
    counts.deliveries += list.length;
    counts.retries += Math.max(0, retries);
    counts.duplicates += list.filter((d) => d.duplicate).length;
    const view: JourneyDelivery = {
      destination: first.destination,
      service: first.service,
      group: first.group,
      system: first.system,
      attempts,
      outcome: last.outcome,
      hopLatencyMs: first.latencyMs,
      retries: Math.max(0, retries),
      publishes: nested,
    };
    if (deadLettered) {
      view.deadLetter = {
        reason: deadLettered.deadLetterReason,
        source:
          deadLettered.deadLetterSource ??
          (deadLettered.outcome === 'dead_letter' ? deadLettered.destination : undefined),
      };
      if (readsDeadLetter(deadLettered)) view.deadLetterQueue = true;
    }
    return view;
  };

  function publishView(p: PublishEntry): JourneyPublish | undefined {
    if (visited.has(p)) return undefined;
    visited.add(p);
    counts.publishes++;
    if (p.unconsumed && p.deliveries.length === 0) counts.unconsumed++;
    counts.deadLetters += deadLetterEvents(p);
    const view: JourneyPublish = {
      messageId: p.messageId,
      service: p.service,
      system: p.system,
      destination: p.destination,
      traceId: p.traceId,
      spanId: p.spanId,
      time: nsToIso(p.startNs),
      deliveries: [...groupDeliveries(p.deliveries).values()].map(deliveryView),
      unconsumed: p.unconsumed && p.deliveries.length === 0,
    };
    if (p.routingKey !== undefined) view.routingKey = p.routingKey;
    return view;
  }

  const rootViews = roots
    .sort(byTime)
    .map(publishView)
    .filter((v): v is JourneyPublish => v !== undefined);
  const orphanList = allDeliveries.filter((d) => !d.publish);
  const orphans = [...groupDeliveries(orphanList).values()].map(deliveryView);
  // Publishes only reachable through a cycle of clock-skewed parents: show them as roots.
  for (const p of [...publishes].sort(byTime)) {
    const view = publishView(p);
    if (view) rootViews.push(view);
  }
  counts.orphans = orphanList.length;

  const traceIds = new Set<string>();
  for (const p of publishes) traceIds.add(p.traceId);
  for (const d of allDeliveries) traceIds.add(d.traceId);
  const correlationId = entries.key.startsWith('trace:') ? undefined : entries.key;
  return {
    correlationId,
    traceIds: [...traceIds],
    publishes: rootViews,
    orphans,
    counts,
    truncated: entries.truncated,
  };
}
