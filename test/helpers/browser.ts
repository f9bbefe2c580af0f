/**
 * Headless Chromium for UI tests: Debian's `chromium` (HOPTRACE_CHROMIUM) driven by playwright-core.
 * A missing browser fails the test in CI and skips it locally, like a missing server.
 */
import { access, constants } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import { requireServer, stackEndpoint } from './env.js';

/** Where UI tests write screenshots (docs/ui.md shows committed copies). */
export const SCREENSHOTS = process.env.HOPTRACE_UI_SCREENSHOTS ?? join(tmpdir(), 'hoptrace-ui-screenshots');

export async function launchChromium(t: TestContext): Promise<Browser | undefined> {
  const executablePath = stackEndpoint('HOPTRACE_CHROMIUM');
  let browser: Browser | undefined;
  const ok = await requireServer(t, `Chromium (${executablePath})`, async () => {
    await access(executablePath, constants.X_OK);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  });
  return ok ? browser : undefined;
}
