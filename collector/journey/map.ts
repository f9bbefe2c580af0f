/**
 * The flow map: every pathway among the journeys the linker keeps, as services and destinations
 * joined by publish, route (exchange -> queue), consume and dead-letter edges, each with counts,
 * a recent rate, hop-latency percentiles and error and dead-letter shares; broker monitors add
 * queue depth, dead-letter queue depth and consumer lag. Built on request from the journey reader
 * (bounded by the journey limits), so it always agrees with the journeys it links to.
 *
 * Maps of several collectors (scale-out) merge by adding counts and latency digests; broker
 * figures, which every instance reads from the same broker, merge by maximum.
 */

import { destinationLabelOf } from '../../instrumentation/core/destinations.js';
import type { JourneyReader } from '../journey/reader.js';
import type { FlowMap, MapEdge, MapEdgeKind, MapLag, MapNode } from './map-types.js';
import type { DeliveryFlags, DeliveryView, PublishView } from './reader.js';

const NO_ATTRIBUTES: Readonly<Record<string, unknown>> = Object.freeze({});

/** Broker state the monitors reported, per destination and per consumer group. */
export interface BrokerSnapshot {
  destinations: {
    system: string;
    destination: string;
    /** Ready + unacked. */
    depth?: number;
    /** Set for queues that are the dead-letter target of others. */
    dlqDepth?: number;
    deadLetterSources?: string[];
  }[];
  lag: { system: string; destination: string; group: string; messages?: number; seconds?: number }[];
}

export interface FlowMapOptions {
  /** Collector clock, ms (the clock spans' arrival times are read on). */
  now: number;
  /** Rates are over this trailing window. */
  windowMs: number;
  broker?: BrokerSnapshot;
  /** Keep each edge's latency digest in the output (for merging in scale-out). */
  digests?: boolean;
}

// --- latency digest: log buckets 5 % wide from 1 µs, so percentiles are within ±5 %

const BASE_MS = 0.001;
const GROWTH = 1.05;
const LOG_GROWTH = Math.log(GROWTH);

export function latencyBucket(ms: number): number {
  if (!(ms > BASE_MS)) return 0;
  return Math.ceil(Math.log(ms / BASE_MS) / LOG_GROWTH);
}

function bucketValue(bucket: number): number {
  return bucket === 0 ? 0 : BASE_MS * GROWTH ** (bucket - 0.5);
}

export function digestPercentile(digest: Map<number, number>, p: number): number | undefined {
  let total = 0;
  for (const n of digest.values()) total += n;
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(total * p));
  let seen = 0;
  for (const bucket of [...digest.keys()].sort((a, b) => a - b)) {
    seen += digest.get(bucket)!;
    if (seen >= rank) return Math.round(bucketValue(bucket) * 1000) / 1000;
  }
  return undefined;
}

// --- building

interface EdgeAcc {
  edge: MapEdge;
  windowCount: number;
  digest: Map<number, number>;
}

export const serviceNodeId = (name: string): string => `service:${name}`;
export const destinationNodeId = (system: string, name: string): string => `destination:${system}:${name}`;

class MapBuilder {
  readonly nodes = new Map<string, MapNode>();
  readonly edges = new Map<string, EdgeAcc>();

  constructor(private readonly windowStart: number) {}

  service(name: string): MapNode {
    return this.node(serviceNodeId(name), 'service', name, undefined);
  }

  destination(system: string, name: string): MapNode {
    return this.node(destinationNodeId(system, name), 'destination', name, system);
  }

  private node(id: string, kind: MapNode['kind'], name: string, system: string | undefined): MapNode {
    let node = this.nodes.get(id);
    if (!node) {
      node = { id, kind, name, published: 0, consumed: 0, unconsumed: 0, orphans: 0 };
      if (system !== undefined) node.system = system;
      this.nodes.set(id, node);
    }
    return node;
  }

  edge(kind: MapEdgeKind, from: MapNode, to: MapNode, group?: string): EdgeAcc {
    const id = `${kind}:${from.id}->${to.id}${group === undefined ? '' : `:${group}`}`;
    let acc = this.edges.get(id);
    if (!acc) {
      const edge: MapEdge = {
        id,
        kind,
        from: from.id,
        to: to.id,
        count: 0,
        ratePerSecond: 0,
        errors: 0,
        errorRate: 0,
        deadLetters: 0,
        deadLetterRate: 0,
        retries: 0,
        duplicates: 0,
        orphans: 0,
        unconsumed: 0,
      };
      if (group !== undefined) edge.group = group;
      acc = { edge, windowCount: 0, digest: new Map() };
      this.edges.set(id, acc);
    }
    return acc;
  }

  count(acc: EdgeAcc, arrivedAt: number): void {
    acc.edge.count++;
    if (arrivedAt >= this.windowStart) acc.windowCount++;
  }

  /** Publishes wait until every delivery is seen: a publish made by a dead-lettering attempt is a dead letter. */
  private readonly publishes: PublishView[] = [];
  /** Span ID of each attempt that dead-lettered its message -> the destination it read from and its group. */
  private readonly deadLettering = new Map<string, { source: MapNode; group: string }>();

  addPublish(p: PublishView): void {
    this.publishes.push(p);
  }

  finishPublishes(): void {
    for (const p of this.publishes) {
      const service = this.service(p.service);
      const destination = this.destination(p.system, p.destinationLabel);
      service.published++;
      destination.published++;
      const by = p.parentSpanId === undefined ? undefined : this.deadLettering.get(p.parentSpanId);
      let acc: EdgeAcc;
      if (by && by.source !== destination) {
        // The consumer moved the message to a dead-letter destination (the bus, Kafka dead-letter topics).
        destination.deadLetter = true;
        acc = this.edge('dead_letter', by.source, destination, by.group);
        acc.edge.deadLetters++;
      } else {
        acc = this.edge('publish', service, destination);
      }
      this.count(acc, p.arrivedAt);
      if (p.unconsumed && p.deliveries.length === 0) {
        acc.edge.unconsumed++;
        destination.unconsumed++;
        service.unconsumed++;
      }
    }
    this.publishes.length = 0;
  }

  addDelivery(d: DeliveryView, flags: Readonly<DeliveryFlags>): void {
    const source = this.destination(d.system, d.destinationLabel);
    const service = this.service(d.service);
    // A RabbitMQ queue is its own group: a temporary one is grouped under its placeholder too.
    const group = d.groupNamed ? d.group : d.destinationLabel;
    source.consumed++;
    service.consumed++;
    const publish = d.publish;
    if (flags.fromDeadLetterQueue || (d.deadLetterReason !== undefined && d.outcome !== 'dead_letter')) {
      source.deadLetter = true;
    }
    const firstAttempt = this.isFirstAttempt(d);
    if (publish && flags.fromDeadLetterQueue) {
      // The broker moved the message from its source to this dead-letter queue.
      const from = this.destination(
        d.system,
        d.deadLetterSource === undefined
          ? publish.destinationLabel
          : destinationLabelOf(d.deadLetterSource, NO_ATTRIBUTES),
      );
      const dl = this.edge('dead_letter', from, source);
      if (firstAttempt) {
        this.count(dl, d.arrivedAt);
        dl.edge.deadLetters++;
      }
    } else if (publish && publish.destination !== d.destination && firstAttempt) {
      // Published to an exchange, delivered from a queue bound to it.
      const from = this.destination(publish.system, publish.destinationLabel);
      this.count(this.edge('route', from, source), d.arrivedAt);
    }

    const acc = this.edge('consume', source, service, group);
    const e = acc.edge;
    this.count(acc, d.arrivedAt);
    if (d.duplicate) e.duplicates++;
    else if (!firstAttempt) e.retries++;
    if (d.statusError || d.errorType !== undefined) e.errors++;
    if (d.outcome === 'dead_letter') {
      e.deadLetters++;
      this.deadLettering.set(d.spanId, { source, group });
    }
    if (!publish && !flags.waiting) {
      e.orphans++;
      source.orphans++;
      service.orphans++;
    }
    if (publish && !flags.fromDeadLetterQueue && d.latencyMs !== undefined && !d.duplicate) {
      if (d.attempt === 1) addLatency(acc, d.latencyMs);
      else if (d.attempt === undefined) {
        // No attempt numbers (RabbitMQ classic queues): the hop is the group's earliest delivery.
        const key = this.groupKey(publish, d.group);
        const known = this.earliest.get(key);
        if (!known || d.latencyMs < known.latencyMs) this.earliest.set(key, { acc, latencyMs: d.latencyMs });
      }
    }
  }

  /** Groups seen per publish, to tell a first delivery from a redelivery when spans carry no attempt. */
  private readonly groupsSeen = new Map<PublishView, Set<string>>();
  private readonly earliest = new Map<string, { acc: EdgeAcc; latencyMs: number }>();
  private readonly publishIds = new Map<PublishView, number>();

  private groupKey(publish: PublishView, group: string): string {
    let id = this.publishIds.get(publish);
    if (id === undefined) {
      id = this.publishIds.size;
      this.publishIds.set(publish, id);
    }
    return `${id}\u0000${group}`;
  }

  private isFirstAttempt(d: DeliveryView): boolean {
    if (d.duplicate) return false;
    if (d.attempt !== undefined) return d.attempt === 1;
    if (!d.publish) return true;
    let groups = this.groupsSeen.get(d.publish);
    if (!groups) {
      groups = new Set();
      this.groupsSeen.set(d.publish, groups);
    }
    if (groups.has(d.group)) return false;
    groups.add(d.group);
    return true;
  }

  finishLatencies(): void {
    for (const { acc, latencyMs } of this.earliest.values()) addLatency(acc, latencyMs);
    this.earliest.clear();
  }

  addBroker(broker: BrokerSnapshot): void {
    for (const b of broker.destinations) {
      // Only destinations spans showed, and dead-letter queues of those: a broker has many queues.
      const id = destinationNodeId(b.system, b.destination);
      const sources = (b.deadLetterSources ?? []).filter((s) =>
        this.nodes.has(destinationNodeId(b.system, s)),
      );
      if (!this.nodes.has(id) && sources.length === 0) continue;
      const node = this.destination(b.system, b.destination);
      if (b.depth !== undefined) node.depth = b.depth;
      if (b.dlqDepth !== undefined) {
        node.dlqDepth = b.dlqDepth;
        node.deadLetter = true;
      }
      for (const s of sources) this.edge('dead_letter', this.destination(b.system, s), node);
    }
    for (const l of broker.lag) {
      const from = destinationNodeId(l.system, l.destination);
      for (const acc of this.edges.values()) {
        const e = acc.edge;
        if (e.kind !== 'consume' || e.from !== from) continue;
        // RabbitMQ reports lag per queue (empty group): it applies to every consumer of the queue.
        if (l.group !== '' && e.group !== l.group) continue;
        e.lag = mergeLag(e.lag, l);
      }
    }
  }
}

function addLatency(acc: EdgeAcc, latencyMs: number): void {
  const bucket = latencyBucket(Math.max(0, latencyMs));
  acc.digest.set(bucket, (acc.digest.get(bucket) ?? 0) + 1);
}

function mergeLag(a: MapLag | undefined, b: MapLag): MapLag {
  const out: MapLag = { ...a };
  if (b.messages !== undefined) out.messages = Math.max(out.messages ?? 0, b.messages);
  if (b.seconds !== undefined) out.seconds = Math.max(out.seconds ?? 0, b.seconds);
  return out;
}

function finish(acc: EdgeAcc, windowMs: number, digests: boolean): MapEdge {
  const e = acc.edge;
  e.ratePerSecond = round((acc.windowCount * 1000) / windowMs);
  e.errorRate = e.count > 0 ? round(e.errors / e.count) : 0;
  e.deadLetterRate = e.count > 0 ? round(e.deadLetters / e.count) : 0;
  const p50 = digestPercentile(acc.digest, 0.5);
  const p95 = digestPercentile(acc.digest, 0.95);
  if (p50 !== undefined) e.p50Ms = p50;
  if (p95 !== undefined) e.p95Ms = p95;
  if (digests && acc.digest.size > 0) e.latencyDigest = [...acc.digest].sort((a, b) => a[0] - b[0]);
  else delete e.latencyDigest;
  return e;
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** Sum over the journeys a reader keeps (plus broker state): the map of one collector. */
export function buildFlowMap(reader: JourneyReader, options: FlowMapOptions): FlowMap {
  const builder = new MapBuilder(options.now - options.windowMs);
  reader.visitFlows({
    publish: (p) => builder.addPublish(p),
    delivery: (d, flags) => builder.addDelivery(d, flags),
  });
  builder.finishPublishes();
  builder.finishLatencies();
  if (options.broker) builder.addBroker(options.broker);
  return {
    generatedAt: new Date(options.now).toISOString(),
    windowSeconds: options.windowMs / 1000,
    journeys: reader.journeyCount(),
    nodes: [...builder.nodes.values()],
    edges: [...builder.edges.values()].map((acc) => finish(acc, options.windowMs, options.digests ?? false)),
    instances: 1,
  };
}

const SUMMED = ['count', 'errors', 'deadLetters', 'retries', 'duplicates', 'orphans', 'unconsumed'] as const;
const NODE_SUMMED = ['published', 'consumed', 'unconsumed', 'orphans'] as const;

/**
 * Merges the maps of several collectors (each built with `digests: true`): counts and rates add,
 * percentiles come from the added digests, broker figures take the maximum.
 */
export function mergeFlowMaps(maps: FlowMap[], digests = false): FlowMap {
  const nodes = new Map<string, MapNode>();
  const edges = new Map<string, { edge: MapEdge; digest: Map<number, number>; rate: number }>();
  for (const map of maps) {
    for (const n of map.nodes) {
      const known = nodes.get(n.id);
      if (!known) {
        nodes.set(n.id, { ...n });
        continue;
      }
      for (const k of NODE_SUMMED) known[k] += n[k];
      if (n.deadLetter) known.deadLetter = true;
      if (n.depth !== undefined) known.depth = Math.max(known.depth ?? 0, n.depth);
      if (n.dlqDepth !== undefined) known.dlqDepth = Math.max(known.dlqDepth ?? 0, n.dlqDepth);
    }
    for (const e of map.edges) {
      let acc = edges.get(e.id);
      if (!acc) {
        const { latencyDigest: _, p50Ms: _p50, p95Ms: _p95, ...rest } = e;
        acc = { edge: { ...rest }, digest: new Map(), rate: 0 };
        for (const k of SUMMED) acc.edge[k] = 0;
        edges.set(e.id, acc);
      }
      for (const k of SUMMED) acc.edge[k] += e[k];
      acc.rate += e.ratePerSecond;
      if (e.lag) acc.edge.lag = mergeLag(acc.edge.lag, e.lag);
      for (const [bucket, n] of e.latencyDigest ?? [])
        acc.digest.set(bucket, (acc.digest.get(bucket) ?? 0) + n);
    }
  }
  const windowSeconds = maps[0]?.windowSeconds ?? 60;
  return {
    generatedAt: new Date().toISOString(),
    windowSeconds,
    journeys: maps.reduce((n, m) => n + m.journeys, 0),
    nodes: [...nodes.values()],
    edges: [...edges.values()].map((acc) => {
      const e = finish({ edge: acc.edge, windowCount: 0, digest: acc.digest }, windowSeconds * 1000, digests);
      e.ratePerSecond = round(acc.rate);
      return e;
    }),
    instances: maps.reduce((n, m) => n + m.instances, 0),
  };
}
