import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { createOpenMetricsRegistry, getMessagingMetrics } from '../../instrumentation/core/metrics.js';
import { renderMetrics } from '../../instrumentation/core/metrics-format.js';
import { startCollector } from '../start.js';

/** GET /metrics with exactly `accept` (or no Accept header at all), as node:http sends it. */
function scrape(url: string, accept: string | undefined): Promise<{ contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = accept === undefined ? {} : { accept };
    const req = request(`${url}/metrics`, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ contentType: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const format = (contentType: string) =>
  contentType.startsWith('application/openmetrics-text') ? 'openmetrics' : 'prometheus';

/** Accept headers where a substring match and a q-value reading disagree, and the usual ones. */
const CASES: [accept: string | undefined, expected: 'openmetrics' | 'prometheus'][] = [
  ['application/openmetrics-text;q=0.1,text/plain', 'prometheus'],
  [
    'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
    'openmetrics',
  ],
  ['*/*', 'prometheus'],
  [undefined, 'prometheus'],
  ['', 'prometheus'],
  ['application/openmetrics-text;q=0', 'prometheus'],
  ['application/openmetrics-text;q=0,text/plain;q=0', 'prometheus'],
  ['application/openmetrics-text', 'openmetrics'],
  ['Application/OpenMetrics-Text; Version=1.0.0; Charset=utf-8', 'openmetrics'],
  ['text/plain;q=1,application/openmetrics-text;q=0.5', 'prometheus'],
  ['application/openmetrics-text;q=0.5,text/*;q=0.4', 'openmetrics'],
  ['application/openmetrics-text;q=0.5, */*', 'prometheus'],
  ['application/openmetrics-text, text/plain', 'openmetrics'],
  ['application/openmetrics-text;q=junk,text/plain;q=0.1', 'prometheus'],
  ['application/json', 'prometheus'],
];

describe('metrics format negotiation', () => {
  it("answers the same format from an application's renderMetrics and the collector's /metrics", async () => {
    const registry = createOpenMetricsRegistry();
    getMessagingMetrics(registry).producer('kafka', 'orders', 'send').sent();
    const collector = await startCollector({ port: 0 });
    try {
      for (const [accept, expected] of CASES) {
        const app = await renderMetrics(registry, accept);
        const served = await scrape(collector.url, accept);
        assert.equal(format(app.contentType), expected, `application, Accept: ${accept}`);
        assert.equal(format(served.contentType), expected, `collector, Accept: ${accept}`);
        // The body matches its content type in both.
        for (const { body } of [app, served]) {
          assert.equal(body.endsWith('# EOF\n'), expected === 'openmetrics', `body of ${accept}`);
        }
      }
    } finally {
      await collector.close();
    }
  });
});
