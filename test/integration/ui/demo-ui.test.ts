/**
 * `hoptrace demo --ui`: one command starts the demo with a collector in process, prints the UI's URL,
 * keeps placing orders (the map stays live) and stops cleanly on Ctrl-C.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FlowMap } from '../../../collector/journey/map-types.js';

const CLI = fileURLToPath(new URL('../../../cli/index.js', import.meta.url));

describe('hoptrace demo --ui', () => {
  it('prints the UI URL, serves the map of the demo and keeps it live until Ctrl-C', async () => {
    const child = spawn(process.execPath, [CLI, 'demo', '--ui', '--ui-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    try {
      const deadline = Date.now() + 30_000;
      while (!/hoptrace UI: (http:\S+)\//.test(out)) {
        assert.ok(Date.now() < deadline, `no UI URL printed:\n${out}`);
        assert.equal(child.exitCode, null, `demo exited:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const base = /hoptrace UI: (http:\S+)\//.exec(out)![1];
      assert.match(out, /a journey: {3}http:\S+\/journeys\/order-3/);
      const page = await fetch(`${base}/`);
      assert.equal(page.status, 200);
      const readMap = async () => (await (await fetch(`${base}/api/map`)).json()) as FlowMap;
      const placed = (m: FlowMap) =>
        m.edges.find((e) => e.id === 'publish:service:storefront->destination:hoptrace.bus:order.placed')
          ?.count ?? 0;
      const first = await readMap();
      assert.deepEqual(
        first.nodes
          .filter((n) => n.kind === 'service')
          .map((n) => n.name)
          .sort(),
        ['billing', 'dlq-audit', 'email', 'inventory', 'shipping', 'storefront'],
      );
      assert.ok(placed(first) >= 3, `the first orders are on the map: ${placed(first)}`);
      let later = first;
      for (let i = 0; i < 40 && placed(later) <= placed(first); i++) {
        await new Promise((r) => setTimeout(r, 250));
        later = await readMap();
      }
      assert.ok(placed(later) > placed(first), 'an order a second keeps the map live');
      child.kill('SIGINT');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0, out);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
