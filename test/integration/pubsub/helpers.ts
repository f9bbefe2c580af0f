/**
 * Fixtures for the Pub/Sub tests on Google's fake server (pstest, HOPTRACE_PUBSUB_EMULATOR_HOST): a raw
 * admin client, an instrumented client with an in-memory tracer and its own registry, unique names.
 */
import { connect } from 'node:net';
import type { TestContext } from 'node:test';
import { type ClientConfig, type Message, PubSub, type Subscription, type Topic } from '@google-cloud/pubsub';
import { createOpenMetricsRegistry, type MetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { instrumentPubSub } from '../../../instrumentation/pubsub/index.js';
import type { PubSubInstrumentationOptions } from '../../../instrumentation/pubsub/types.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { uniqueName } from '../../helpers/stack.js';
import { createTestTracing, type TestTracing } from '../../helpers/tracing.js';

export const PROJECT_ID = 'hoptrace-test';

export function emulatorHost(): string {
  return stackEndpoint('HOPTRACE_PUBSUB_EMULATOR_HOST');
}

/** A client on the fake server; no credentials, no metadata-server probe. */
export function rawPubSub(config: ClientConfig = {}): PubSub {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  return new PubSub({ projectId: PROJECT_ID, apiEndpoint: emulatorHost(), emulatorMode: true, ...config });
}

function probe(): Promise<void> {
  const [host, port] = emulatorHost().split(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: host!, port: Number(port) }, () => {
      socket.end();
      resolve();
    });
    socket.setTimeout(2_000, () => socket.destroy(new Error('timeout')));
    socket.once('error', reject);
  });
}

/** False (test skipped locally, failed in CI) when the fake server does not answer. */
export function requirePubSub(t: TestContext): Promise<boolean> {
  return requireServer(t, 'the Pub/Sub fake (pstest)', probe);
}

export interface PubSubFixture {
  admin: PubSub;
  pubsub: PubSub;
  tracing: TestTracing;
  registry: MetricsRegistry;
  name(prefix: string): string;
  topic(prefix: string): Promise<Topic>;
  /** Creates a subscription through the raw admin client; returns its short name. */
  subscription(topic: Topic, prefix: string, options?: Record<string, unknown>): Promise<string>;
  /** Listens on `name` through `client` (default: the instrumented one); closed by `close()`. */
  listen(name: string, handler: (message: Message) => unknown, client?: PubSub): Subscription;
  close(): Promise<void>;
}

export async function pubsubFixture(
  t: TestContext,
  options: PubSubInstrumentationOptions = {},
  config: ClientConfig = {},
): Promise<PubSubFixture | undefined> {
  if (!(await requirePubSub(t))) return undefined;
  const tracing = createTestTracing();
  const registry = createOpenMetricsRegistry();
  const admin = rawPubSub();
  const pubsub = instrumentPubSub(rawPubSub(config), {
    tracerProvider: tracing.provider,
    registry,
    ...options,
  });
  const subscriptions: Subscription[] = [];
  return {
    admin,
    pubsub,
    tracing,
    registry,
    name: uniqueName,
    async topic(prefix) {
      const [topic] = await admin.createTopic(uniqueName(prefix));
      return topic;
    },
    async subscription(topic, prefix, subOptions = {}) {
      const name = uniqueName(prefix);
      await admin.createSubscription(topic, name, subOptions);
      return name;
    },
    listen(name, handler, client = pubsub) {
      const sub = client.subscription(name, { flowControl: { maxMessages: 100 } });
      sub.on('message', handler);
      sub.on('error', () => {});
      subscriptions.push(sub);
      return sub;
    },
    async close() {
      for (const sub of subscriptions) await sub.close().catch(() => {});
      await pubsub.close().catch(() => {});
      await admin.close().catch(() => {});
    },
  };
}

export { metricValue } from '../../helpers/metrics.js';

export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
