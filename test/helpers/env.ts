/**
 * Where the integration tests find the real servers. Each endpoint comes from an environment
 * variable, defaulting to the loopback ports that `npm run stack -- up` uses, so tests run against
 * the project's own stack or against a user's servers alike.
 */
import type { TestContext } from 'node:test';

export const STACK_DEFAULTS = {
  HOPTRACE_AMQP_URL: 'amqp://guest:guest@127.0.0.1:35672',
  HOPTRACE_RABBITMQ_MANAGEMENT_URL: 'http://guest:guest@127.0.0.1:35673',
  HOPTRACE_RABBITMQ_PROMETHEUS_URL: 'http://127.0.0.1:35692',
  HOPTRACE_KAFKA_BROKERS: '127.0.0.1:39092',
  HOPTRACE_PROMETHEUS_URL: 'http://127.0.0.1:39090',
  HOPTRACE_ALERTMANAGER_URL: 'http://127.0.0.1:39094',
  HOPTRACE_JAEGER_OTLP_URL: 'http://127.0.0.1:34318',
  HOPTRACE_JAEGER_QUERY_URL: 'http://127.0.0.1:36686',
  HOPTRACE_REDIS_URL: 'redis://127.0.0.1:36379',
  HOPTRACE_SQS_ENDPOINT: 'http://127.0.0.1:34566',
  HOPTRACE_PUBSUB_EMULATOR_HOST: '127.0.0.1:38085',
  HOPTRACE_CHROMIUM: '/usr/bin/chromium',
} as const;

export type StackVariable = keyof typeof STACK_DEFAULTS;

export function stackEndpoint(name: StackVariable): string {
  return process.env[name] || STACK_DEFAULTS[name];
}

/** In CI (or with HOPTRACE_REQUIRE_STACK=1) a missing server fails the test; locally it skips. */
export function stackRequired(): boolean {
  return process.env.CI === 'true' || process.env.HOPTRACE_REQUIRE_STACK === '1';
}

/**
 * Runs `probe`; when it fails, fails the test in CI and skips it (with the reason) elsewhere.
 * Returns false when the caller should return early.
 */
export async function requireServer(
  t: TestContext,
  server: string,
  probe: () => Promise<unknown>,
): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (err) {
    const reason = `${server} is not reachable (${(err as Error).message}); start it with \`npm run stack -- up\``;
    if (stackRequired()) throw new Error(reason);
    t.skip(reason);
    return false;
  }
}
