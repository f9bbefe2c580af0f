import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { STACK_DEFAULTS } from '../../test/helpers/env.js';
import {
  DEFAULT_PORTS,
  loadStackConfig,
  REPO_ROOT,
  SERVER_NAMES,
  SERVER_VARIABLES,
  stackEndpoints,
  TOOL_NAMES,
  TOOL_VARIABLES,
} from './config.js';

test('the stack serves exactly the endpoints the test helpers default to', () => {
  assert.deepEqual(stackEndpoints(loadStackConfig({})), STACK_DEFAULTS);
});

test('every endpoint variable belongs to exactly one server or tool', () => {
  const owned = [
    ...SERVER_NAMES.flatMap((name) => SERVER_VARIABLES[name]),
    ...TOOL_NAMES.flatMap((name) => TOOL_VARIABLES[name]),
  ];
  assert.deepEqual([...owned].sort(), Object.keys(STACK_DEFAULTS).sort());
});

test('defaults: <repo>/.stack, ~/.cache/hoptrace, fixed ports, node hoptrace@localhost', () => {
  const config = loadStackConfig({ HOME: '/home/u' });
  assert.equal(config.dir, join(REPO_ROOT, '.stack'));
  assert.match(config.cacheDir, /\/\.cache\/hoptrace$/);
  assert.deepEqual(config.ports, DEFAULT_PORTS);
  assert.equal(config.rabbitmqNode, 'hoptrace@localhost');
  assert.equal(config.jaeger, 'auto');
});

test('a port offset moves every port and the RabbitMQ node name', () => {
  const config = loadStackConfig({ HOPTRACE_STACK_PORT_OFFSET: '1000', HOPTRACE_STACK_DIR: '/tmp/s2' });
  assert.equal(config.dir, '/tmp/s2');
  for (const [key, port] of Object.entries(DEFAULT_PORTS)) {
    assert.equal(config.ports[key as keyof typeof DEFAULT_PORTS], port + 1000, key);
  }
  assert.equal(config.rabbitmqNode, 'hoptrace1000@localhost');
  assert.equal(stackEndpoints(config).HOPTRACE_KAFKA_BROKERS, '127.0.0.1:40092');
  assert.equal(stackEndpoints(config).HOPTRACE_REDIS_URL, 'redis://127.0.0.1:37379');
  assert.equal(stackEndpoints(config).HOPTRACE_SQS_ENDPOINT, 'http://127.0.0.1:35566');
  assert.equal(stackEndpoints(config).HOPTRACE_PUBSUB_EMULATOR_HOST, '127.0.0.1:39085');
});

test('no two ports collide, in one stack or across the offsets the tests use side by side', () => {
  // The shared stack (0) and the private stacks of the lifecycle and fault tests run at once.
  const offsets = [0, -12000, -13000, -14000];
  const all = offsets.flatMap((offset) =>
    Object.values(loadStackConfig({ HOPTRACE_STACK_PORT_OFFSET: String(offset) }).ports),
  );
  assert.equal(new Set(all).size, all.length);
});

test('an offset outside -20000..20000 or not an integer is refused; a negative one lowers every port', () => {
  for (const bad of ['-20001', '1.5', 'abc', '30000']) {
    assert.throws(() => loadStackConfig({ HOPTRACE_STACK_PORT_OFFSET: bad }), /HOPTRACE_STACK_PORT_OFFSET/);
  }
  const base = loadStackConfig({}).ports;
  const lowered = loadStackConfig({ HOPTRACE_STACK_PORT_OFFSET: '-12000' }).ports;
  for (const [name, port] of Object.entries(lowered)) {
    assert.equal(port, (base as unknown as Record<string, number>)[name] - 12000, name);
    assert.ok(port < 32768, `${name} below the ephemeral range`);
  }
});

test('HOPTRACE_JAEGER selects off, auto or build', () => {
  assert.equal(loadStackConfig({ HOPTRACE_JAEGER: 'off' }).jaeger, 'off');
  assert.equal(loadStackConfig({ HOPTRACE_JAEGER: 'build' }).jaeger, 'build');
  assert.equal(loadStackConfig({ HOPTRACE_JAEGER: '1' }).jaeger, 'build');
  assert.equal(loadStackConfig({}).jaeger, 'auto');
});
