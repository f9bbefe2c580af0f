/**
 * The flow map as JSON (`GET /api/map`): services and destinations as nodes, publish, consume and
 * dead-letter edges between them with their figures. Pure types, shared by the collector and the
 * web UI.
 */

export type MapNodeKind = 'service' | 'destination';
/** `route`: an exchange to a queue bound to it (RabbitMQ), seen as publish and delivery destinations differ. */
export type MapEdgeKind = 'publish' | 'route' | 'consume' | 'dead_letter';

/** Consumer lag of one group on one destination, from a broker monitor. */
export interface MapLag {
  messages?: number;
  seconds?: number;
}

export interface MapNode {
  /** `service:<name>` or `destination:<system>:<name>`. */
  id: string;
  kind: MapNodeKind;
  name: string;
  /** `messaging.system` of a destination. */
  system?: string;
  /** The destination is a dead-letter queue or topic (seen in spans or reported by a monitor). */
  deadLetter?: boolean;
  /** Messages published by a service, or to a destination, among tracked journeys. */
  published: number;
  /** Delivery attempts made by a service, or from a destination. */
  consumed: number;
  /** Publishes to this destination (or by this service) that no consumer took before the deadline. */
  unconsumed: number;
  /** Deliveries from this destination (or by this service) whose publish was never seen. */
  orphans: number;
  /** Messages waiting in the destination, from a broker monitor (ready + unacked). */
  depth?: number;
  /** Messages in this dead-letter queue, from a broker monitor. */
  dlqDepth?: number;
}

export interface MapEdge {
  /** `<kind>:<from>-><to>` plus `:<group>` for consume edges. */
  id: string;
  kind: MapEdgeKind;
  from: string;
  to: string;
  /** Consumer group of a consume edge (or of the consumer that dead-lettered). */
  group?: string;
  /** Publishes (publish edge), delivery attempts (consume edge) or dead letters, among tracked journeys. */
  count: number;
  /** Per second over the last `windowSeconds`. */
  ratePerSecond: number;
  /** Hop latency (publish start -> first attempt start) of consume edges, from a ±5 % digest. */
  p50Ms?: number;
  p95Ms?: number;
  /** Failed attempts (error status or `error.type`) and their share of `count`. */
  errors: number;
  errorRate: number;
  /** Dead-lettered attempts and their share of `count`. */
  deadLetters: number;
  deadLetterRate: number;
  retries: number;
  duplicates: number;
  orphans: number;
  unconsumed: number;
  /** Consume edges: lag of the group from a broker monitor. */
  lag?: MapLag;
  /** Sparse hop-latency digest `[bucket, count]` (for merging maps of several collectors). */
  latencyDigest?: [number, number][];
}

export interface FlowMap {
  /** ISO 8601. */
  generatedAt: string;
  windowSeconds: number;
  /** Journeys kept by the collector(s) the map was built from. */
  journeys: number;
  nodes: MapNode[];
  edges: MapEdge[];
  /** Collectors whose figures are in the map (more than 1 in scale-out with peers). */
  instances: number;
  /** Peers that did not answer: their figures are missing. */
  missingPeers?: string[];
}

/** Settings the page needs (`GET /api/ui`). */
export interface UiSettings {
  /** Base URL of a Jaeger UI, for trace links; absent when none is configured. */
  jaegerUrl?: string;
  /** How often the page polls, ms. */
  refreshMs: number;
}
