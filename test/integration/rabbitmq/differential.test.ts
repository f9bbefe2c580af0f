/**
 * Differential suite: every scripted amqplib behaviour (amqp-behaviours.ts) runs on a raw connection and
 * on an instrumented one, on each supported amqplib major, and the application-visible reports must be
 * equal. Checked beside it: the instrumented runs' own records add up (every producer span ended, with
 * the confirm's real outcome).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { instrumentAmqp } from '../../../instrumentation/amqp/index.js';
import { createOpenMetricsRegistry } from '../../../instrumentation/core/metrics.js';
import { ATTR_ERROR_TYPE, METRIC_OPERATION_DURATION } from '../../../instrumentation/core/semconv.js';
import { requireServer } from '../../helpers/env.js';
import { createTestTracing, type TestTracing } from '../../helpers/tracing.js';
import { BEHAVIOURS, type BehaviourRun, type CallbackApi, normalizeNames } from './amqp-behaviours.js';
import { AMQPLIB_MODULES, amqplibVersion, loadAmqplib, loadCallbackApi } from './amqplib-versions.js';
import { amqpUrl, metricValue, unique, waitFor } from './helpers.js';

interface Report {
  report: unknown;
  tracing?: TestTracing;
  registry?: ReturnType<typeof createOpenMetricsRegistry>;
}

async function runBehaviour(
  moduleName: (typeof AMQPLIB_MODULES)[number],
  behaviour: string,
  instrumented: boolean,
): Promise<Report> {
  const lib = loadAmqplib(moduleName);
  const raw = await lib.connect(amqpUrl());
  raw.on('error', () => undefined);
  const tracing = instrumented ? createTestTracing() : undefined;
  const registry = instrumented ? createOpenMetricsRegistry() : undefined;
  const wrap = <T>(c: T): T =>
    tracing ? instrumentAmqp(c, { tracerProvider: tracing.provider, registry }) : c;
  const names: string[] = [];
  const run: BehaviourRun = {
    callbackApi: loadCallbackApi(moduleName) as CallbackApi,
    url: amqpUrl(),
    conn: wrap(raw),
    wrap,
    name(prefix) {
      const n = unique(prefix);
      names.push(n);
      return n;
    },
  };
  try {
    const report = await (BEHAVIOURS[behaviour] as (r: BehaviourRun) => Promise<unknown>)(run);
    return { report: normalizeNames(report, names), tracing, registry };
  } finally {
    await raw.close().catch(() => undefined);
  }
}

const reachable = (t: import('node:test').TestContext) =>
  requireServer(t, 'RabbitMQ', async () => {
    const c = await loadAmqplib('amqplib').connect(amqpUrl());
    await c.close();
  });

for (const moduleName of AMQPLIB_MODULES) {
  describe(`amqplib ${amqplibVersion(moduleName)}: raw and instrumented behave the same`, () => {
    for (const behaviour of Object.keys(BEHAVIOURS)) {
      it(behaviour, { timeout: 30_000 }, async (t) => {
        if (!(await reachable(t))) return;
        const raw = await runBehaviour(moduleName, behaviour, false);
        const wrapped = await runBehaviour(moduleName, behaviour, true);
        assert.deepEqual(wrapped.report, raw.report);

        if (behaviour.startsWith('confirm: 1000')) {
          // The must-show: rejects without hoptrace and with it, on every major.
          const expected = { rejected: { name: 'Error', message: 'channel closed' } };
          assert.deepEqual((raw.report as { first: unknown }).first, expected);
          // hoptrace's own records: 1000 producer spans ended by the close or their confirm, and one
          // for the publish after the close, which threw.
          const spans = wrapped.tracing?.spans().filter((s) => s.kind === SpanKind.PRODUCER) ?? [];
          assert.equal(spans.length, 1001);
          const failed = spans.filter((s) => s.attributes[ATTR_ERROR_TYPE] === 'channel_closed').length;
          const confirms = await metricValue(wrapped.registry!, METRIC_OPERATION_DURATION, {
            messaging_operation_name: 'confirm',
          });
          assert.equal(confirms, 1000);
          assert.ok(failed > 0, 'some confirms were lost to the close');
          t.diagnostic(`${failed} of 1000 publishes ended channel_closed`);
        }
        if (behaviour.startsWith('confirm: broker nack')) {
          const spans = wrapped.tracing?.spans().filter((s) => s.kind === SpanKind.PRODUCER) ?? [];
          await waitFor(() => (wrapped.tracing?.spans().length ?? 0) >= 3, 'three producer spans');
          assert.deepEqual(spans.map((s) => s.attributes[ATTR_ERROR_TYPE] ?? 'ok').sort(), [
            'nack',
            'nack',
            'ok',
          ]);
        }
      });
    }
  });
}
