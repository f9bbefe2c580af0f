import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tokenMatches } from './server.js';
import { startCollector } from './start.js';

describe('collector security defaults', () => {
  it('binds 127.0.0.1 unless told otherwise', async () => {
    const collector = await startCollector({ port: 0 });
    try {
      assert.equal(collector.host, '127.0.0.1');
      assert.match(collector.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await collector.close();
    }
  });

  it('checks the bearer token on equal-length digests: any length in, never a throw, exact match only', () => {
    const token = 's3cret-token';
    assert.equal(tokenMatches(`Bearer ${token}`, token), true);
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `bearer ${token}`,
      `Basic ${token}`,
      `Bearer ${token}x`,
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${'x'.repeat(100_000)}`,
      `Bearer ${token.toUpperCase()}`,
    ]) {
      assert.equal(tokenMatches(header, token), false, String(header).slice(0, 40));
    }
  });

  it('compares with crypto.timingSafeEqual on SHA-256 digests (source review, kept by a test)', () => {
    const source = readFileSync(join(import.meta.dirname, '..', '..', 'collector', 'server.ts'), 'utf8');
    const body = source.slice(source.indexOf('export function tokenMatches'));
    const fn = body.slice(0, body.indexOf('\n}\n'));
    assert.match(fn, /createHash\('sha256'\)/);
    assert.match(fn, /timingSafeEqual\(given, expected\)/);
    assert.doesNotMatch(fn, /===|!==|==/, 'no early-exit string comparison');
  });
});
