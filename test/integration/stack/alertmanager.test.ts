import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireServer, stackEndpoint } from '../../helpers/env.js';
import { fetchWithAuth, getJson, uniqueName } from '../../helpers/stack.js';

const alertmanagerUrl = stackEndpoint('HOPTRACE_ALERTMANAGER_URL');

interface ListedAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
}

async function postAlerts(alerts: object[]): Promise<number> {
  const response = await fetchWithAuth(`${alertmanagerUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
  });
  await response.body?.cancel();
  return response.status;
}

test('Alertmanager accepts a posted alert and lists it', async (t) => {
  if (!(await requireServer(t, 'Alertmanager', () => getJson(`${alertmanagerUrl}/api/v2/status`)))) return;
  const run = uniqueName('run');
  const labels = { alertname: 'HoptraceStackSmokePosted', severity: 'warning', stack_smoke_run: run };
  const startsAt = new Date().toISOString();
  assert.equal(
    await postAlerts([{ labels, annotations: { summary: 'posted by the stack smoke test' }, startsAt }]),
    200,
  );
  t.after(async () => {
    // Resolve it so it does not linger in other tests' listings.
    await postAlerts([{ labels, startsAt, endsAt: new Date().toISOString() }]);
  });

  const filter = encodeURIComponent(`stack_smoke_run="${run}"`);
  const listed = await getJson<ListedAlert[]>(`${alertmanagerUrl}/api/v2/alerts?filter=${filter}`);
  assert.equal(listed.length, 1);
  assert.deepEqual(listed[0].labels, labels);
  assert.equal(listed[0].annotations.summary, 'posted by the stack smoke test');
  assert.equal(listed[0].status.state, 'active');
});
