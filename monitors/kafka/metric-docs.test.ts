import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as semconv from '../../instrumentation/core/semconv.js';
import { REPO_ROOT } from '../../scripts/stack/config.js';

describe('Kafka offset and group metrics', () => {
  it('every kafka_exporter-style name in core semconv is documented in docs/kafka.md', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'kafka.md'), 'utf8');
    const names = Object.entries(semconv)
      .filter(([key, value]) => key.startsWith('METRIC_KAFKA_') && typeof value === 'string')
      .map(([, value]) => value as string);
    assert.equal(names.length, 9);
    for (const name of names) assert.ok(doc.includes(`\`${name}\``), `${name} in docs/kafka.md`);
  });
});
