/** Shared setup of the RabbitMQ integration tests: a real broker, unique names, exact metric reads. */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import { instrumentAmqp } from '../../../instrumentation/amqp/index.js';
import type { AmqpInstrumentationOptions } from '../../../instrumentation/amqp/types.js';
import { createOpenMetricsRegistry, type MetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { createTestTracing, type TestTracing } from '../../helpers/tracing.js';

export const amqpUrl = (): string => stackEndpoint('HOPTRACE_AMQP_URL');

/** Every name handed out since the last cleanup: fixtures delete them when they close. */
const created = new Set<string>();

/** A queue or exchange name no other test uses; the fixture deletes it when it closes. */
export function unique(prefix: string): string {
  const name = `hoptrace-test.${prefix}.${randomBytes(4).toString('hex')}`;
  created.add(name);
  return name;
}

/** Deletes every queue and exchange `unique` named (deleting a missing one is not an error in AMQP). */
async function deleteCreated(connection: ChannelModel): Promise<void> {
  const names = [...created];
  created.clear();
  const ch = await connection.createChannel();
  for (const name of names) {
    await ch.deleteQueue(name);
    await ch.deleteExchange(name);
  }
  await ch.close();
}

export interface RabbitFixture {
  tracing: TestTracing;
  registry: MetricsRegistry;
  /** The raw connection (for side-by-side checks and broker-side setup). */
  raw: ChannelModel;
  /** The same connection, instrumented. */
  conn: ChannelModel;
  /** A raw channel for declaring topology. */
  admin: Channel;
  close(): Promise<void>;
}

/**
 * Connects to the stack's RabbitMQ (skips locally, fails in CI when it is down) and instruments the
 * connection with a fresh in-memory tracer and registry. Returns undefined when the test was skipped.
 */
export async function rabbit(
  t: TestContext,
  options: AmqpInstrumentationOptions = {},
): Promise<RabbitFixture | undefined> {
  let raw: ChannelModel | undefined;
  const reachable = await requireServer(t, 'RabbitMQ', async () => {
    raw = await amqplib.connect(amqpUrl());
  });
  if (!reachable || !raw) return undefined;
  const tracing = createTestTracing();
  const registry = createOpenMetricsRegistry();
  const conn = instrumentAmqp(raw, { tracerProvider: tracing.provider, registry, ...options });
  const admin = await raw.createChannel();
  const connection = raw;
  return {
    tracing,
    registry,
    raw: connection,
    conn,
    admin,
    async close() {
      await deleteCreated(connection).catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

export { metricValue } from '../../helpers/metrics.js';

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function spansNamed(spans: ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((s) => s.name === name);
}

/** The management API's view of one queue. */
export async function queueInfo(queue: string): Promise<Record<string, unknown>> {
  const base = new URL(stackEndpoint('HOPTRACE_RABBITMQ_MANAGEMENT_URL'));
  const auth = Buffer.from(
    `${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`,
  ).toString('base64');
  const url = `${base.protocol}//${base.host}/api/queues/%2F/${encodeURIComponent(queue)}`;
  const response = await fetch(url, { headers: { authorization: `Basic ${auth}` } });
  if (!response.ok) throw new Error(`management API ${response.status} for ${queue}`);
  return (await response.json()) as Record<string, unknown>;
}

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
