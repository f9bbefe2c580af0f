/**
 * The flow map: services and destinations laid out left to right by ELK's layered algorithm (in a
 * Web Worker, so the page stays responsive), edges drawn with their rate, hop latency, error and
 * dead-letter shares and lag. The layout is recomputed only when the set of nodes or edges changes;
 * figures update in place on every poll.
 */
import ELK, { type ElkExtendedEdge, type ElkNode } from 'elkjs/lib/elk-api.js';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { FlowMap, MapEdge, MapNode } from '../../journey/map-types.js';
import { clip, count, ms, percent, rate } from './format.js';

const elk = new ELK({ workerUrl: '/assets/elk-worker.min.js' });

const CHAR_W = 6.6;
const NAME_CHAR_W = 8.3;
const LINE_H = 14;
const NAME_MAX = 30;

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

interface Layout {
  key: string;
  width: number;
  height: number;
  nodes: Map<string, Box>;
  edges: Map<string, { points: { x: number; y: number }[]; label?: Box }>;
}

/** Render timings the performance test reads (`window.__hoptrace`). */
export interface Timings {
  /** First map drawn, ms since navigation start. */
  firstMapMs?: number;
  /** Last layout, ms. */
  layoutMs?: number;
  /** Last poll (fetch and state update), ms. */
  lastPollMs?: number;
}

const timings = (): Timings => (window as unknown as { __hoptrace?: Timings }).__hoptrace ?? {};

export interface MapSelection {
  service?: string;
  destination?: string;
}

function nodeLines(n: MapNode): string[] {
  const lines: string[] = [];
  if (n.kind === 'service') {
    lines.push(`pub ${count(n.published)} · con ${count(n.consumed)}`);
  } else {
    lines.push(n.deadLetter ? `${n.system ?? ''} · dead letters` : (n.system ?? ''));
  }
  const badges: string[] = [];
  if (n.dlqDepth !== undefined) badges.push(`DLQ depth ${count(n.dlqDepth)}`);
  else if (n.depth !== undefined) badges.push(`depth ${count(n.depth)}`);
  if (n.unconsumed > 0) badges.push(`unconsumed ${count(n.unconsumed)}`);
  if (n.orphans > 0) badges.push(`orphans ${count(n.orphans)}`);
  if (badges.length > 0) lines.push(badges.join(' · '));
  return lines;
}

function nodeSize(n: MapNode): { width: number; height: number } {
  const lines = nodeLines(n);
  // The name is bold and larger than the lines under it.
  const widest = Math.max(
    clip(n.name, NAME_MAX).length * NAME_CHAR_W,
    ...lines.map((l) => l.length * CHAR_W),
  );
  return { width: Math.max(110, Math.ceil(widest) + 26), height: 22 + LINE_H * (lines.length + 1) };
}

/** Edge label lines: the figures that matter for its kind. */
export function edgeLines(e: MapEdge): string[] {
  if (e.kind === 'publish') {
    const parts = [rate(e.ratePerSecond)];
    if (e.unconsumed > 0) parts.push(`unconsumed ${count(e.unconsumed)}`);
    return [parts.join(' · ')];
  }
  if (e.kind === 'route') return [rate(e.ratePerSecond)];
  if (e.kind === 'dead_letter') {
    return [`dead letters ${count(e.deadLetters || e.count)}${e.group ? ` (${clip(e.group, 20)})` : ''}`];
  }
  const lines = [rate(e.ratePerSecond)];
  if (e.p50Ms !== undefined) lines.push(`p50 ${ms(e.p50Ms)} · p95 ${ms(e.p95Ms)}`);
  const second: string[] = [];
  if (e.errors > 0) second.push(`err ${percent(e.errorRate)}`);
  if (e.deadLetters > 0) second.push(`DL ${percent(e.deadLetterRate)}`);
  if (e.retries > 0) second.push(`retries ${count(e.retries)}`);
  if (e.duplicates > 0) second.push(`dup ${count(e.duplicates)}`);
  if (e.orphans > 0) second.push(`orphans ${count(e.orphans)}`);
  if (e.lag?.messages !== undefined) second.push(`lag ${count(e.lag.messages)}`);
  if (e.lag?.seconds !== undefined) second.push(`lag ${ms(e.lag.seconds * 1000)}`);
  // Two figures a line keeps labels narrow, so layers stay close.
  for (let i = 0; i < second.length; i += 2) lines.push(second.slice(i, i + 2).join(' · '));
  return lines;
}

/** Label boxes are sized for the figures' usual length, so updates do not need a new layout. */
function labelSize(e: MapEdge): { width: number; height: number } {
  const lines = edgeLines(e);
  const width = Math.max(...lines.map((l) => l.length), e.kind === 'consume' ? 22 : 8) * 6.2 + 8;
  return { width, height: lines.length * 13 + 2 };
}

function structureKey(map: FlowMap): string {
  const nodes = map.nodes.map((n) => `${n.id}|${nodeLines(n).length}`).sort();
  const edges = map.edges.map((e) => `${e.id}|${edgeLines(e).length}`).sort();
  return `${nodes.join('\n')}\n--\n${edges.join('\n')}`;
}

async function layout(map: FlowMap, key: string): Promise<Layout> {
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.edgeRouting': 'POLYLINE',
      'elk.layered.spacing.nodeNodeBetweenLayers': '40',
      'elk.spacing.nodeNode': '22',
      'elk.spacing.edgeLabel': '4',
      'elk.spacing.edgeNode': '14',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.edgeLabels.placement': 'CENTER',
      'elk.padding': '[top=16,left=16,bottom=16,right=16]',
    },
    children: map.nodes.map((n) => ({ id: n.id, ...nodeSize(n) })),
    edges: map.edges.map(
      (e): ElkExtendedEdge => ({
        id: e.id,
        sources: [e.from],
        targets: [e.to],
        labels: [{ id: `${e.id}#label`, text: 'x', ...labelSize(e) }],
      }),
    ),
  };
  const result = await elk.layout(graph);
  const nodes = new Map<string, Box>();
  for (const c of result.children ?? []) {
    nodes.set(c.id, { x: c.x ?? 0, y: c.y ?? 0, width: c.width ?? 0, height: c.height ?? 0 });
  }
  const edges: Layout['edges'] = new Map();
  for (const e of (result.edges ?? []) as ElkExtendedEdge[]) {
    const points: { x: number; y: number }[] = [];
    for (const s of e.sections ?? []) points.push(s.startPoint, ...(s.bendPoints ?? []), s.endPoint);
    const l = e.labels?.[0];
    edges.set(e.id, {
      points,
      label: l ? { x: l.x ?? 0, y: l.y ?? 0, width: l.width ?? 0, height: l.height ?? 0 } : undefined,
    });
  }
  return { key, width: result.width ?? 0, height: result.height ?? 0, nodes, edges };
}

function strokeWidth(e: MapEdge): number {
  return Math.min(5, 1.4 + Math.log10(1 + e.ratePerSecond * 10));
}

function edgeClass(e: MapEdge): string {
  const classes = ['edge', `edge-${e.kind}`];
  if (e.kind === 'consume' && (e.deadLetters > 0 || e.errors > 0)) classes.push('edge-failing');
  if (e.orphans > 0 || e.unconsumed > 0) classes.push('edge-loss');
  return classes.join(' ');
}

function nodeClass(n: MapNode, selected: boolean): string {
  const classes = ['node', `node-${n.kind}`];
  if (n.deadLetter) classes.push('node-dlq');
  if (n.unconsumed > 0 || n.orphans > 0) classes.push('node-loss');
  if (selected) classes.push('node-selected');
  return classes.join(' ');
}

export function MapView(props: {
  map: FlowMap;
  selection: MapSelection;
  onSelect: (selection: MapSelection) => void;
}) {
  const { map, selection, onSelect } = props;
  const key = useMemo(() => structureKey(map), [map]);
  const [current, setCurrent] = useState<Layout | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [fit, setFit] = useState<boolean | undefined>();
  const scroller = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (current?.key === key) return;
    let live = true;
    const started = performance.now();
    layout(map, key).then(
      (l) => {
        if (!live) return;
        setCurrent(l);
        setError(undefined);
        timings().layoutMs = performance.now() - started;
      },
      (err: unknown) => live && setError(String(err)),
    );
    return () => {
      live = false;
    };
  }, [key]);

  useEffect(() => {
    const t = timings();
    if (current && t.firstMapMs === undefined) t.firstMapMs = performance.now();
  }, [current]);

  if (map.nodes.length === 0) {
    return (
      <p class="empty">
        No messaging spans yet. Send OTLP spans to this collector (POST /v1/traces) and the map appears here.
      </p>
    );
  }
  if (error) return <p class="error">Layout failed: {error}</p>;
  if (!current) return <p class="loading">Laying out {map.nodes.length} nodes…</p>;

  // Fit to the width while text stays readable (scaled to at least 75 %); wider maps scroll.
  const available = scroller.current?.clientWidth ?? window.innerWidth - 80;
  const fitted = fit ?? current.width * 0.75 <= available;
  const byId = new Map(map.nodes.map((n) => [n.id, n]));
  const selectNode = (n: MapNode) =>
    onSelect(n.kind === 'service' ? { service: n.name } : { destination: n.name });
  const selectEdge = (e: MapEdge) => {
    const from = byId.get(e.from);
    const to = byId.get(e.to);
    const destination = [from, to].find((n) => n?.kind === 'destination');
    const service = [from, to].find((n) => n?.kind === 'service');
    onSelect({ destination: destination?.name, service: service?.name });
  };

  return (
    <div class="map">
      <div class="map-tools">
        <Legend />
        <button type="button" onClick={() => setFit(!fitted)}>
          {fitted ? 'Actual size' : 'Fit to width'}
        </button>
      </div>
      <div class="map-scroll" ref={scroller}>
        <svg
          class="map-svg"
          data-nodes={map.nodes.length}
          data-edges={map.edges.length}
          viewBox={`0 0 ${current.width} ${current.height}`}
          width={fitted ? '100%' : current.width}
          height={fitted ? undefined : current.height}
          role="img"
          aria-label="Flow map"
        >
          <defs>
            {['arrow', 'arrow-dl'].map((id) => (
              <marker
                id={id}
                key={id}
                viewBox="0 0 10 10"
                refX="9"
                refY="5"
                markerWidth="9"
                markerHeight="9"
                markerUnits="userSpaceOnUse"
                orient="auto-start-reverse"
              >
                <path d="M 0 0 L 10 5 L 0 10 z" class={id} />
              </marker>
            ))}
          </defs>
          {map.edges.map((e) => {
            const l = current.edges.get(e.id);
            if (!l || l.points.length < 2) return null;
            const d = l.points.map((p, i) => `${i === 0 ? 'M' : 'L'} ${p.x} ${p.y}`).join(' ');
            const lines = edgeLines(e);
            return (
              // biome-ignore lint/a11y/useSemanticElements: SVG has no <button>; the group is the control
              <g
                key={e.id}
                class={edgeClass(e)}
                data-edge-id={e.id}
                data-kind={e.kind}
                data-rate={e.ratePerSecond}
                data-count={e.count}
                role="button"
                tabIndex={0}
                onClick={() => selectEdge(e)}
                onKeyDown={(ev) => ev.key === 'Enter' && selectEdge(e)}
              >
                <title>{edgeTitle(e, byId)}</title>
                <path
                  d={d}
                  stroke-width={strokeWidth(e)}
                  marker-end={e.kind === 'dead_letter' ? 'url(#arrow-dl)' : 'url(#arrow)'}
                />
                {l.label && (
                  <text class="edge-label" x={l.label.x + 4} y={l.label.y + 11}>
                    {lines.map((line, i) => (
                      <tspan key={i} x={l.label!.x + 4} dy={i === 0 ? 0 : 13}>
                        {line}
                      </tspan>
                    ))}
                  </text>
                )}
              </g>
            );
          })}
          {map.nodes.map((n) => {
            const b = current.nodes.get(n.id);
            if (!b) return null;
            const selected =
              (n.kind === 'service' && selection.service === n.name) ||
              (n.kind === 'destination' && selection.destination === n.name);
            return (
              // biome-ignore lint/a11y/useSemanticElements: SVG has no <button>; the group is the control
              <g
                key={n.id}
                class={nodeClass(n, selected)}
                data-node-id={n.id}
                data-kind={n.kind}
                transform={`translate(${b.x},${b.y})`}
                role="button"
                tabIndex={0}
                onClick={() => selectNode(n)}
                onKeyDown={(ev) => ev.key === 'Enter' && selectNode(n)}
              >
                <title>{`${n.kind === 'service' ? 'service' : `${n.system ?? ''} destination`}: ${n.name}`}</title>
                <rect width={b.width} height={b.height} rx={n.kind === 'service' ? 8 : 2} />
                <text class="node-name" x={12} y={19}>
                  {clip(n.name, NAME_MAX)}
                </text>
                {nodeLines(n).map((line, i) => (
                  <text key={i} class="node-sub" x={12} y={19 + LINE_H * (i + 1)}>
                    {line}
                  </text>
                ))}
              </g>
            );
          })}
        </svg>
      </div>
    </div>
  );
}

function edgeTitle(e: MapEdge, byId: Map<string, MapNode>): string {
  const from = byId.get(e.from)?.name ?? e.from;
  const to = byId.get(e.to)?.name ?? e.to;
  const kind = {
    publish: 'publishes to',
    route: 'routes to',
    consume: 'delivers to',
    dead_letter: 'dead-letters to',
  }[e.kind];
  const parts = [`${from} ${kind} ${to}${e.group ? ` (group ${e.group})` : ''}`, `${count(e.count)} seen`];
  parts.push(...edgeLines(e));
  return parts.join('\n');
}

function Legend() {
  return (
    <ul class="legend" aria-label="Legend">
      <li>
        <span class="swatch swatch-service" /> service
      </li>
      <li>
        <span class="swatch swatch-destination" /> destination
      </li>
      <li>
        <span class="swatch swatch-dlq" /> dead-letter queue
      </li>
      <li>
        <span class="line line-ok" /> messages
      </li>
      <li>
        <span class="line line-failing" /> with errors
      </li>
      <li>
        <span class="line line-dl" /> dead letters
      </li>
    </ul>
  );
}
