/**
 * Reads of the other collector instances of a scale-out, so the UI and `/api` of any instance show
 * the whole map and find any journey: each journey lives on the one instance that owns its
 * partition, so a journey not found here is asked of every peer, and the map adds the peers'
 * figures to this instance's. Peers are asked with `?local=1` (they answer from their own state
 * only, so requests never loop) and this instance's token (instances of one scale-out share it).
 * The peer list may hold this instance: answers carrying its own instance ID are ignored.
 */
import { logger } from '../server.js';

/** Response header naming the instance that answered. */
export const INSTANCE_HEADER = 'x-hoptrace-instance';

export interface PeerAnswer<T> {
  peer: string;
  body: T;
}

export class Peers {
  constructor(
    private readonly urls: readonly URL[],
    private readonly instanceId: string,
    private readonly token: string | undefined,
    private readonly timeoutMs = 3_000,
  ) {}

  get size(): number {
    return this.urls.length;
  }

  /** GETs `path` (with `local=1` added) from every peer; 404s are left out, failures listed. */
  async getAll<T>(path: string): Promise<{ answers: PeerAnswer<T>[]; failed: string[] }> {
    const results = await Promise.all(this.urls.map((url) => this.get<T>(url, path)));
    const answers: PeerAnswer<T>[] = [];
    const failed: string[] = [];
    for (const r of results) {
      if (r.status === 'ok') answers.push({ peer: r.peer, body: r.body });
      else if (r.status === 'failed') failed.push(r.peer);
    }
    return { answers, failed };
  }

  /** The first peer's 200 answer for `path`, else undefined. */
  async first<T>(path: string): Promise<T | undefined> {
    const { answers } = await this.getAll<T>(path);
    return answers[0]?.body;
  }

  private async get<T>(
    base: URL,
    path: string,
  ): Promise<
    { status: 'ok'; peer: string; body: T } | { status: 'self' | 'missing' | 'failed'; peer: string }
  > {
    const url = new URL(path, base);
    url.searchParams.set('local', '1');
    const peer = base.origin;
    try {
      const response = await fetch(url, {
        headers: this.token ? { authorization: `Bearer ${this.token}` } : {},
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (response.headers.get(INSTANCE_HEADER) === this.instanceId) {
        await response.body?.cancel();
        return { status: 'self', peer };
      }
      if (response.status === 404) {
        await response.body?.cancel();
        return { status: 'missing', peer };
      }
      if (!response.ok) {
        await response.body?.cancel();
        logger.warn(`peer ${peer} answered ${response.status} for ${url.pathname}`);
        return { status: 'failed', peer };
      }
      return { status: 'ok', peer, body: (await response.json()) as T };
    } catch (err) {
      logger.warn(`peer ${peer} did not answer ${url.pathname}: ${(err as Error).message}`);
      return { status: 'failed', peer };
    }
  }
}
