import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLIENT_NAMES, readRegisterSettings } from './settings.js';

function read(env: Record<string, string>) {
  const warnings: string[] = [];
  const settings = readRegisterSettings(env, (message) => warnings.push(message));
  return { settings, warnings };
}

describe('hoptrace/register settings from the environment', () => {
  it('defaults: every client, tracing set up on demand, no metrics port, loopback host', () => {
    const { settings, warnings } = read({});
    assert.deepEqual(settings, {
      enabled: true,
      clients: [...CLIENT_NAMES],
      sdk: 'auto',
      serviceName: undefined,
      linkMode: undefined,
      correlationHeader: undefined,
      captureHeaders: undefined,
      metricsPort: undefined,
      metricsHost: '127.0.0.1',
    });
    assert.deepEqual(warnings, []);
  });

  it('reads every variable of the table', () => {
    const { settings, warnings } = read({
      HOPTRACE_ENABLED: 'yes',
      HOPTRACE_INSTRUMENTATIONS: ' kafkajs ',
      HOPTRACE_SDK: 'off',
      HOPTRACE_SERVICE_NAME: 'billing',
      HOPTRACE_LINK_MODE: 'link',
      HOPTRACE_CORRELATION_HEADER: 'x-request-id',
      HOPTRACE_CAPTURE_HEADERS: 'x-tenant, x-region,',
      HOPTRACE_METRICS_PORT: '9464',
      HOPTRACE_METRICS_HOST: '0.0.0.0',
    });
    assert.deepEqual(settings, {
      enabled: true,
      clients: ['kafkajs'],
      sdk: 'off',
      serviceName: 'billing',
      linkMode: 'link',
      correlationHeader: 'x-request-id',
      captureHeaders: ['x-tenant', 'x-region'],
      metricsPort: 9464,
      metricsHost: '0.0.0.0',
    });
    assert.deepEqual(warnings, []);
  });

  it('OTEL_SDK_DISABLED turns the SDK off; HOPTRACE_ENABLED=false turns everything off', () => {
    assert.equal(read({ OTEL_SDK_DISABLED: 'true' }).settings.sdk, 'off');
    assert.equal(read({ HOPTRACE_ENABLED: 'false' }).settings.enabled, false);
    assert.deepEqual(read({ HOPTRACE_INSTRUMENTATIONS: 'none' }).settings.clients, []);
  });

  it('a bad value is reported in one line and replaced by its default, never thrown', () => {
    const { settings, warnings } = read({
      HOPTRACE_ENABLED: 'maybe',
      HOPTRACE_INSTRUMENTATIONS: 'amqplib,nats',
      HOPTRACE_SDK: 'always',
      HOPTRACE_LINK_MODE: 'both',
      HOPTRACE_METRICS_PORT: '70000',
    });
    assert.equal(settings.enabled, true);
    assert.deepEqual(settings.clients, ['amqplib']);
    assert.equal(settings.sdk, 'auto');
    assert.equal(settings.linkMode, undefined);
    assert.equal(settings.metricsPort, undefined);
    assert.equal(warnings.length, 5, warnings.join('\n'));
    assert.match(warnings.join('\n'), /unknown client "nats"/);
    assert.match(warnings.join('\n'), /HOPTRACE_METRICS_PORT="70000" is not a port/);
  });
});
