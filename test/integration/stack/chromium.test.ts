import assert from 'node:assert/strict';
import { access, constants } from 'node:fs/promises';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { requireServer, stackEndpoint } from '../../helpers/env.js';

const executablePath = stackEndpoint('HOPTRACE_CHROMIUM');

test('Chromium: headless, it loads a page and runs its script', async (t) => {
  if (!(await requireServer(t, 'Chromium', () => access(executablePath, constants.X_OK)))) return;
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'], headless: true });
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.setContent(
    '<p id="out">not run</p><script>document.getElementById("out").textContent = String(6 * 7)</script>',
  );
  assert.equal(await page.textContent('#out'), '42');
});
