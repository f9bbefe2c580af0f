/**
 * `npm run dashboards`: writes dashboards/generated/*.json from dashboards/src. A test rebuilds them
 * and fails when the committed files differ.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARDS, renderDashboard } from './src/index.js';

export const GENERATED_DIR = 'dashboards/generated';

function main(): void {
  const root = join(import.meta.dirname, '..', '..');
  for (const { file, build } of DASHBOARDS) {
    writeFileSync(join(root, GENERATED_DIR, file), renderDashboard(build()));
    console.log(`wrote ${GENERATED_DIR}/${file}`);
  }
}

if (process.argv[1] === import.meta.filename) main();
