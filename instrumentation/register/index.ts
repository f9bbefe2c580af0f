/**
 * `node --import hoptrace/register app.js`: zero-code hoptrace for ESM and CommonJS applications.
 * Instruments every supported client when the application loads it, sets up tracing at that moment
 * unless the application registered an SDK first, and serves metrics when HOPTRACE_METRICS_PORT is
 * set. Every setting comes from the environment (docs/register.md).
 */
import { register } from 'node:module';
import { DiagConsoleLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { onFirstClientLoad } from '../core/auto-instrumentation.js';
import { CLIENT_MODULES, createInstrumentations } from './instrumentations.js';
import { serveMetrics } from './metrics-server.js';
import { readRegisterSettings } from './settings.js';
import { installTracing } from './tracing.js';

const warn = (message: string) => process.stderr.write(`hoptrace/register: ${message}\n`);

const LOG_LEVELS: Record<string, DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

const settings = readRegisterSettings(process.env, warn);
if (settings.enabled) {
  const level = LOG_LEVELS[(process.env.OTEL_LOG_LEVEL ?? 'warn').toLowerCase()] ?? DiagLogLevel.WARN;
  diag.setLogger(new DiagConsoleLogger(), { logLevel: level, suppressOverrideMessage: true });
  // The loader sees `import` of the clients only: every other module loads untouched.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
    data: { include: settings.clients.flatMap((client) => CLIENT_MODULES[client]) },
  });
  if (settings.sdk === 'auto') onFirstClientLoad(() => installTracing(process.env, warn));
  registerInstrumentations({ instrumentations: createInstrumentations(settings) });
  if (settings.metricsPort !== undefined) serveMetrics(settings.metricsHost, settings.metricsPort, warn);
}
