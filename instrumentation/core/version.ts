/**
 * hoptrace's version, recorded as the tracer's instrumentation scope version. The one source is
 * package.json (three levels up from dist/instrumentation/core/, in the repository and in the
 * installed package alike); a bundle that left package.json behind reports `0.0.0-unknown`.
 */
import { createRequire } from 'node:module';

function packageVersion(): string {
  try {
    const pkg = createRequire(import.meta.url)('../../../package.json') as {
      name?: unknown;
      version?: unknown;
    };
    if (pkg.name === 'hoptrace' && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // Bundled without package.json beside it.
  }
  return '0.0.0-unknown';
}

export const VERSION: string = packageVersion();
