/**
 * Flows. BullMQ writes telemetry metadata only on flow nodes that have an `opts` object (5.x and 6.x
 * skip nodes without one), so `flow()` gives every node a copy of its options: BullMQ then stores
 * hoptrace's context on each child, and a flow is one trace and one correlation ID.
 * A parent is processed after its children; its consumer span links to each child's producer span,
 * read from the children's stored metadata (one `getDependencies` call and one pipelined read).
 */
import type { Link } from '@opentelemetry/api';
import { ATTR_HOPTRACE_LINK_KIND, LINK_KIND_FLOW_CHILD } from '../core/semconv.js';
import { extractIncoming } from '../transport/index.js';
import { decodeMetadata } from './metadata.js';
import type { BullMQFlowNode, BullMQJobLike } from './types.js';

/** Links beyond this many children are dropped (span links are kept in memory until export). */
export const MAX_CHILD_LINKS = 128;
const MAX_DEPTH = 64;

export function copyFlow<T extends BullMQFlowNode>(node: T, depth = 0): T {
  if (depth > MAX_DEPTH || typeof node !== 'object' || node === null) return node;
  const copy: T = { ...node, opts: { ...(node.opts ?? {}) } };
  if (Array.isArray(node.children)) copy.children = node.children.map((child) => copyFlow(child, depth + 1));
  return copy;
}

interface Dependencies {
  processed?: Record<string, unknown>;
  ignored?: Record<string, unknown>;
  failed?: string[];
  unprocessed?: string[];
}

interface PipelineLike {
  hget(key: string, field: string): PipelineLike;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

/** Child job keys (`prefix:queue:id`) of a parent job; empty for a leaf. */
async function childKeys(job: BullMQJobLike): Promise<string[]> {
  if (typeof job.getDependencies !== 'function') return [];
  const deps = (await job.getDependencies()) as Dependencies | undefined;
  if (!deps) return [];
  const keys = [
    ...Object.keys(deps.processed ?? {}),
    ...Object.keys(deps.ignored ?? {}),
    ...(Array.isArray(deps.failed) ? deps.failed : []),
    ...(Array.isArray(deps.unprocessed) ? deps.unprocessed : []),
  ];
  return keys.slice(0, MAX_CHILD_LINKS);
}

/** The Redis client BullMQ reads this job with: 6.x keeps it on the backend, 5.x on the queue. */
async function clientOf(job: BullMQJobLike): Promise<{ pipeline(): PipelineLike } | undefined> {
  const holder = job as unknown as { backend?: { client?: unknown }; queue?: { client?: unknown } };
  const client = (await (holder.backend?.client ?? holder.queue?.client)) as
    | { pipeline?: () => PipelineLike }
    | undefined;
  return client && typeof client.pipeline === 'function'
    ? (client as { pipeline(): PipelineLike })
    : undefined;
}

/** Links to the producer spans of a parent job's children, and how many children it has. */
export async function childLinks(job: BullMQJobLike): Promise<{ links: Link[]; children: number }> {
  const keys = await childKeys(job);
  if (keys.length === 0) return { links: [], children: 0 };
  const client = await clientOf(job);
  if (!client) return { links: [], children: keys.length };
  const pipeline = client.pipeline();
  for (const key of keys) pipeline.hget(key, 'opts');
  const replies = (await pipeline.exec()) ?? [];
  const links: Link[] = [];
  for (const [err, raw] of replies) {
    if (err || typeof raw !== 'string') continue;
    let opts: unknown;
    try {
      opts = JSON.parse(raw);
    } catch {
      continue;
    }
    const carrier = decodeMetadata((opts as { tm?: unknown } | null)?.tm);
    if (!carrier) continue;
    const remote = extractIncoming(carrier).remote;
    if (remote)
      links.push({ context: remote, attributes: { [ATTR_HOPTRACE_LINK_KIND]: LINK_KIND_FLOW_CHILD } });
  }
  return { links, children: keys.length };
}
