/**
 * A test OTLP/HTTP receiver that decodes with the collector's own codec and keeps every span, with
 * a scriptable answer per request (e.g. 503 twice, then 200).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJsonRequest, decodeProtobufRequest, encodeResponse } from '../../collector/otlp/codec.js';
import { normalizeRequest } from '../../collector/otlp/normalize.js';
import type { SpanRecord } from '../../collector/types.js';

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Hold the answer this long (ms). */
  delayMs?: number;
}

export interface TestReceiver {
  url: string;
  spans: SpanRecord[];
  requests: number;
  /** Answers for the next requests, in order; afterwards 200. */
  script: ScriptedAnswer[];
  /** Resolves once at least `n` spans arrived (rejects after `timeoutMs`). */
  waitForSpans(n: number, timeoutMs?: number): Promise<SpanRecord[]>;
  close(): Promise<void>;
}

export async function startTestReceiver(): Promise<TestReceiver> {
  const waiters: { n: number; resolve: () => void }[] = [];
  const receiver = {
    url: '',
    spans: [] as SpanRecord[],
    requests: 0,
    script: [] as ScriptedAnswer[],
  } as TestReceiver;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.requests++;
      const answer = receiver.script.shift() ?? { status: 200 };
      setTimeout(() => {
        if (answer.status !== 200) {
          res.writeHead(answer.status, answer.headers).end();
          return;
        }
        const json = (req.headers['content-type'] ?? '').includes('json');
        const body = Buffer.concat(chunks);
        const request = json ? decodeJsonRequest(body) : decodeProtobufRequest(body);
        receiver.spans.push(...normalizeRequest(request).spans);
        for (const w of [...waiters]) {
          if (receiver.spans.length >= w.n) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
        }
        const response = encodeResponse(json ? 'json' : 'protobuf');
        res.writeHead(200, { 'content-type': response.contentType }).end(response.body);
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  receiver.waitForSpans = (n, timeoutMs = 5_000) =>
    new Promise((resolve, reject) => {
      if (receiver.spans.length >= n) {
        resolve(receiver.spans);
        return;
      }
      const timer = setTimeout(
        () => reject(new Error(`waited ${timeoutMs} ms for ${n} spans, got ${receiver.spans.length}`)),
        timeoutMs,
      );
      waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve(receiver.spans);
        },
      });
    });
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}
