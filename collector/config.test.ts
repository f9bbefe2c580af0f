import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCollectorFlags } from '../cli/commands/collector.js';
import { DEFAULT_LIMITS, resolveConfig } from './config.js';
import { ConfigError, HoptraceError } from './errors.js';
import { startCollector } from './start.js';

function rejects(options: unknown, message: RegExp): void {
  assert.throws(
    () => resolveConfig(options as never),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.code === 'HOPTRACE_COLLECTOR_INVALID_CONFIG' &&
      message.test(err.message),
  );
}

describe('collector config', () => {
  it('defaults to 127.0.0.1:4318 with the documented limits', () => {
    const config = resolveConfig();
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 4318);
    assert.deepEqual(config.limits, DEFAULT_LIMITS);
    assert.equal(config.forwardOtlpUrl, undefined);
  });

  it('rejects bad values with a typed error naming the option', () => {
    rejects({ port: 70000 }, /port/);
    rejects({ prot: 1 }, /unknown option\(s\) prot/);
    rejects({ token: '' }, /token/);
    rejects({ forwardOtlpUrl: 'ftp://x' }, /forwardOtlpUrl must use http/);
    rejects({ limits: { maxBodyBytes: -1 } }, /limits\.maxBodyBytes/);
    rejects({ limits: { unconsumedDeadlineMs: 20, messageTtlMs: 10 } }, /unconsumedDeadlineMs/);
    rejects({ limits: { maxBodyBytes: 100, maxInFlightBytes: 10 } }, /maxInFlightBytes/);
    rejects({ rabbitmq: { managementUrl: 'not a url' } }, /rabbitmq\.managementUrl/);
    rejects({ kafka: { brokers: ['no-port'] } }, /kafka\.brokers/);
    rejects({ scaleOut: { kafka: { brokers: ['a:1'], topic: 'bad topic' } } }, /topic/);
  });

  it('adds /v1/traces to a bare forward origin and takes credentials from the management URL', () => {
    const config = resolveConfig({
      forwardOtlpUrl: 'http://127.0.0.1:34318',
      rabbitmq: { managementUrl: 'http://user:p%40ss@127.0.0.1:15672' },
    });
    assert.equal(config.forwardOtlpUrl?.href, 'http://127.0.0.1:34318/v1/traces');
    assert.equal(config.rabbitmq?.username, 'user');
    assert.equal(config.rabbitmq?.password, 'p@ss');
    assert.equal(config.rabbitmq?.managementUrl.href, 'http://127.0.0.1:15672/');
    assert.equal(config.rabbitmq?.vhost, '/');
  });

  it('moves forward URL credentials into a Basic authorization header and never echoes a bad URL', () => {
    const config = resolveConfig({ forwardOtlpUrl: 'https://tenant:s%3Acret@otlp.example:4318' });
    assert.equal(config.forwardOtlpUrl?.href, 'https://otlp.example:4318/v1/traces');
    assert.equal(
      config.forward.headers.authorization,
      `Basic ${Buffer.from('tenant:s:cret').toString('base64')}`,
    );
    const own = resolveConfig({
      forwardOtlpUrl: 'http://u:p@h:1',
      forward: { headers: { Authorization: 'Bearer t' } },
    });
    assert.deepEqual(own.forward.headers, { Authorization: 'Bearer t' }, 'an explicit header wins');
    assert.throws(
      () => resolveConfig({ forwardOtlpUrl: 'http://u:hunter2@bad host' }),
      (err: unknown) => err instanceof ConfigError && !err.message.includes('hunter2'),
    );
  });

  it('fails startup on bad config and on a port in use', async () => {
    await assert.rejects(startCollector({ port: -1 }), ConfigError);
    const first = await startCollector({ port: 0 });
    try {
      await assert.rejects(
        startCollector({ port: first.port }),
        (err: unknown) => err instanceof HoptraceError && err.code === 'HOPTRACE_COLLECTOR_LISTEN_FAILED',
      );
    } finally {
      await first.close();
    }
  });

  it('maps CLI flags to options', () => {
    const options = parseCollectorFlags(
      [
        '--port',
        '0',
        '--forward',
        'http://j:4318',
        '--rabbitmq',
        'http://g:g@r:15672',
        '--link-window-ms',
        '5000',
      ],
      { HOPTRACE_COLLECTOR_TOKEN: 't0ken' },
    );
    assert.deepEqual(options, {
      port: 0,
      token: 't0ken',
      forwardOtlpUrl: 'http://j:4318',
      rabbitmq: { managementUrl: 'http://g:g@r:15672' },
      limits: { linkWindowMs: 5000, shedAboveBusyPercent: 90 },
    });
    assert.equal(
      parseCollectorFlags(['--shed-above-busy-percent', '100'], {}).limits?.shedAboveBusyPercent,
      100,
    );
    assert.throws(
      () => parseCollectorFlags(['--shed-above-busy-percent', '0'], {}),
      /shed-above-busy-percent/,
    );
    assert.throws(() => parseCollectorFlags(['--port', 'x'], {}), /--port/);
    assert.throws(() => parseCollectorFlags(['--scale-out-role', 'both'], {}), /need --scale-out-brokers/);
  });
});
