/**
 * Reads a request body within limits: the declared Content-Length, the bytes actually received and,
 * for gzip, the decompressed size (a small gzip bomb cannot expand past `maxBytes`).
 */
import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { MalformedRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';

const gunzipAsync = promisify(gunzip);

export interface BodyLimits {
  maxBytes: number;
  /** Called with each chunk size before it is kept; throw to stop reading (e.g. over the in-flight budget). */
  onBytes?: (n: number) => void;
}

export async function readRawBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limits.maxBytes)
    throw new PayloadTooLargeError(limits.maxBytes, 'body');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limits.maxBytes) throw new PayloadTooLargeError(limits.maxBytes, 'body');
    limits.onBytes?.(chunk.length);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Applies Content-Encoding: identity or gzip; anything else is unsupported. */
export async function decodeContentEncoding(
  req: IncomingMessage,
  raw: Buffer,
  maxBytes: number,
): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return raw;
  if (encoding !== 'gzip')
    throw new UnsupportedMediaTypeError(`unsupported content-encoding "${encoding}"; use gzip`);
  try {
    return await gunzipAsync(raw, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new PayloadTooLargeError(maxBytes, 'decompressed');
    }
    throw new MalformedRequestError(`invalid gzip body: ${(err as Error).message}`, err);
  }
}
