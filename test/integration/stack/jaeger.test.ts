import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { fetchWithAuth, getJson, jaegerEnabled, uniqueName, waitFor } from '../../helpers/stack.js';

const otlpUrl = stackEndpoint('HOPTRACE_JAEGER_OTLP_URL');
const queryUrl = stackEndpoint('HOPTRACE_JAEGER_QUERY_URL');

interface JaegerTrace {
  traceID: string;
  spans: { traceID: string; spanID: string; operationName: string; processID: string }[];
  processes: Record<string, { serviceName: string }>;
}

test('Jaeger stores an OTLP span and serves it from /api/traces/{id}', {
  skip: !jaegerEnabled() && 'Jaeger is off (not built)',
}, async (t) => {
  if (!(await requireServer(t, 'Jaeger', () => getJson(`${queryUrl}/api/services`)))) return;
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  const service = uniqueName('stack-smoke');
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'hoptrace-stack-smoke' },
            spans: [
              {
                traceId,
                spanId,
                name: 'publish smoke',
                kind: 4,
                startTimeUnixNano: String(nowNs - 5_000_000n),
                endTimeUnixNano: String(nowNs),
                attributes: [{ key: 'messaging.system', value: { stringValue: 'rabbitmq' } }],
              },
            ],
          },
        ],
      },
    ],
  };
  const response = await fetchWithAuth(`${otlpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.text());

  const trace = await waitFor(
    async () => (await getJson<{ data: JaegerTrace[] }>(`${queryUrl}/api/traces/${traceId}`)).data[0],
    { what: `trace ${traceId} in Jaeger`, timeoutMs: 15_000 },
  );
  assert.equal(trace.traceID, traceId);
  assert.equal(trace.spans.length, 1);
  assert.equal(trace.spans[0].spanID, spanId);
  assert.equal(trace.spans[0].operationName, 'publish smoke');
  assert.equal(trace.processes[trace.spans[0].processID].serviceName, service);
});
