/**
 * Builds the collector's web UI (collector/ui/web) into dist/collector/ui/assets: the TypeScript
 * front end bundled and minified by esbuild, its page and styles, and ELK's layout worker. Run by
 * `npm run build` after tsc; the package ships the output, so the UI needs no network at runtime.
 */
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const web = join(root, 'collector/ui/web');
const out = join(root, 'dist/collector/ui/assets');

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [join(web, 'main.tsx')],
    outfile: join(out, 'app.js'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
    tsconfig: join(web, 'tsconfig.json'),
  });
  copyFileSync(join(web, 'index.html'), join(out, 'index.html'));
  copyFileSync(join(web, 'app.css'), join(out, 'app.css'));
  const require = createRequire(import.meta.url);
  copyFileSync(require.resolve('elkjs/lib/elk-worker.min.js'), join(out, 'elk-worker.min.js'));
  const size = (f: string) => `${f} ${Math.round(statSync(join(out, f)).size / 1024)} KiB`;
  console.log(`UI assets: ${['app.js', 'app.css', 'elk-worker.min.js'].map(size).join(', ')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
