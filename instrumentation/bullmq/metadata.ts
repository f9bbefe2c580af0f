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

export function encodeMetadata(headers: Record<string, unknown>): string {
  const carrier: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) if (typeof value === 'string') carrier[key] = value;
  return JSON.stringify(carrier);
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
  const carrier: Record<string, string> = {};
  let count = 0;
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') continue;
    if (++count > MAX_KEYS) return null;
    carrier[key] = value;
  }
  return carrier;
}

/** `add emails.welcome` -> job name `welcome` for queue `emails`; BullMQ joins them with a dot. */
export function jobNameFromSpanName(rest: string, queueName: string): string | undefined {
  const prefix = `${queueName}.`;
  return rest.startsWith(prefix) && rest.length > prefix.length ? rest.slice(prefix.length) : undefined;
}
