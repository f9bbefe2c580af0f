/**
 * Reads a request body within limits: the declared Content-Length, the bytes actually received and,
 * for gzip, the decompressed size (a small gzip bomb cannot expand past `maxBytes`).
 */
import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { MalformedRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors.js';

const gunzipAsync = promisify(gunzip);

export interface BodyLimits {
  maxBytes: number;
  /** Called with each chunk size before it is kept; throw to stop reading (e.g. over the in-flight budget). */
  onBytes?: (n: number) => void;
}

/**
 * Past a refusal the rest of the body is read and dropped, so the client can finish sending and read our
 * answer (destroying the socket would give it EPIPE instead of the 413/429); beyond this many bytes
 * of a refused body the connection is cut.
 */
const DISCARD_FACTOR = 4;

export function readRawBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limits.maxBytes) {
    return Promise.reject(new PayloadTooLargeError(limits.maxBytes, 'body'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    let discarded = 0;
    const refuse = (err: unknown) => {
      refused = true;
      chunks.length = 0;
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      if (refused) {
        discarded += chunk.length;
        if (discarded > DISCARD_FACTOR * limits.maxBytes) req.destroy();
        return;
      }
      size += chunk.length;
      try {
        if (size > limits.maxBytes) throw new PayloadTooLargeError(limits.maxBytes, 'body');
        limits.onBytes?.(chunk.length);
        chunks.push(chunk);
      } catch (err) {
        refuse(err);
      }
    });
    let ended = false;
    req.on('end', () => {
      ended = true;
      if (!refused) resolve(Buffer.concat(chunks, size));
    });
    req.on('close', () => {
      if (!ended && !refused)
        refuse(new MalformedRequestError('the client closed the request before its body ended'));
    });
    req.on('error', (err) => {
      if (!refused) refuse(new MalformedRequestError(`request body: ${err.message}`));
    });
  });
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
