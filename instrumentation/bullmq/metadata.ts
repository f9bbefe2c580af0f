/**
 * BullMQ stores one string per job for telemetry (`opts.telemetry.metadata`, Redis field `tm`).
 * hoptrace writes there the headers it writes on every other transport, as a JSON object: the same
 * shape `bullmq-otel` uses (a propagation carrier), so either side reads the other's `traceparent`.
 */

/** BullMQ keeps the string in every job; anything larger than this is not ours and is ignored. */
export const MAX_METADATA_LENGTH = 16_384;
const MAX_KEYS = 32;

/** Set on jobs a FlowProducer added: their processing may have children to link to. */
export const HEADER_FLOW_NODE = 'x-hoptrace-flow-node';

/** The string headers as a JSON object; `flowNode` adds `x-hoptrace-flow-node: "1"`. */
export function encodeMetadata(headers: Record<string, unknown> | undefined, flowNode = false): string {
  // The usual case, every header a string (what hoptrace writes): serialized as it is, no copy.
  if (headers && !flowNode && onlyStrings(headers)) return JSON.stringify(headers);
  const carrier: Record<string, string> = {};
  if (headers) {
    for (const key of Object.keys(headers)) {
      const value = headers[key];
      if (typeof value === 'string') carrier[key] = value;
    }
  }
  if (flowNode) carrier[HEADER_FLOW_NODE] = '1';
  return JSON.stringify(carrier);
}

function onlyStrings(headers: Record<string, unknown>): boolean {
  if (Object.getPrototypeOf(headers) !== Object.prototype) return false;
  for (const key in headers) if (typeof headers[key] !== 'string') return false;
  return true;
}

/**
 * The carrier in a job's metadata; `undefined` with no metadata, `null` when it is not a JSON object
 * of strings within the limits (counted as invalid context by the caller).
 */
export function decodeMetadata(metadata: unknown): Record<string, string> | undefined | null {
  if (metadata === undefined || metadata === null || metadata === '') return undefined;
  if (typeof metadata !== 'string' || metadata.length > MAX_METADATA_LENGTH) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(metadata);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const object = parsed as Record<string, unknown>;
  const keys = Object.keys(object);
  let strings = 0;
  for (const key of keys) if (typeof object[key] === 'string') strings++;
  if (strings > MAX_KEYS) return null;
  // The usual case, every value a string: the freshly parsed object is the carrier, not copied.
  if (strings === keys.length) return object as Record<string, string>;
  const carrier: Record<string, string> = {};
  for (const key of keys) {
    const value = object[key];
    if (typeof value === 'string') carrier[key] = value;
  }
  return carrier;
}

/** `add emails.welcome` -> job name `welcome` for queue `emails`; BullMQ joins them with a dot. */
export function jobNameFromSpanName(rest: string, queueName: string): string | undefined {
  const prefix = `${queueName}.`;
  return rest.startsWith(prefix) && rest.length > prefix.length ? rest.slice(prefix.length) : undefined;
}
