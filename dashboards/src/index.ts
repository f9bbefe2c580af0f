/** Every dashboard hoptrace ships, with the file `npm run dashboards` writes it to. */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { consumerLagDashboard } from './consumer-lag.js';
import { deadLettersDashboard } from './dead-letters.js';
import { flowsDashboard } from './flows.js';
import { overviewDashboard } from './overview.js';

export interface ShippedDashboard {
  /** File name under dashboards/generated/. */
  file: string;
  build: () => Dashboard;
}

export const DASHBOARDS: readonly ShippedDashboard[] = [
  { file: 'hoptrace-overview.json', build: overviewDashboard },
  { file: 'hoptrace-consumer-lag.json', build: consumerLagDashboard },
  { file: 'hoptrace-dead-letters.json', build: deadLettersDashboard },
  { file: 'hoptrace-flows.json', build: flowsDashboard },
];

/** The JSON exactly as committed: two-space indent, trailing newline. */
export function renderDashboard(dashboard: Dashboard): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
