/**
 * examples/stack/docker-compose.yml cannot run here (no Docker), so it is checked as data: every
 * host path it mounts exists, the Prometheus and Alertmanager configs pass promtool/amtool as the
 * containers would see them (mounts recreated as symlinks under a scratch root), and Grafana's
 * provisioning points at the compose services with exemplars linked to Jaeger.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../../scripts/stack/config.js';

const composeDir = join(REPO_ROOT, 'examples', 'stack');

interface ComposeService {
  image: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
}

const compose = parse(readFileSync(join(composeDir, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, ComposeService>;
};

interface Mount {
  host: string;
  container: string;
}

function mounts(service: string): Mount[] {
  return (compose.services[service].volumes ?? [])
    .map((spec) => spec.split(':'))
    .filter(([source]) => source.startsWith('.') || source.startsWith('/'))
    .map(([source, container]) => ({ host: resolve(composeDir, source), container }));
}

/** A scratch root where each mount of `service` is a symlink at its container path. */
function containerRoot(t: { after: (fn: () => void) => void }, service: string): string {
  const root = mkdtempSync(join(tmpdir(), `hoptrace-compose-${service}-`));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const mount of mounts(service)) {
    mkdirSync(dirname(join(root, mount.container)), { recursive: true });
    symlinkSync(mount.host, join(root, mount.container));
  }
  return root;
}

/** The container port a service publishes (right side of "host:container"). */
function containerPorts(service: string): number[] {
  return (compose.services[service]?.ports ?? []).map((spec) => Number(spec.split(':').pop()));
}

test('the compose file has every server of the hoptrace stack', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), [
    'alertmanager',
    'grafana',
    'jaeger',
    'kafka',
    'prometheus',
    'rabbitmq',
  ]);
  assert.match(compose.services.jaeger.image, /^jaegertracing\/jaeger:2\./, 'Jaeger v2');
  assert.equal(compose.services.kafka.environment?.KAFKA_PROCESS_ROLES, 'broker,controller', 'KRaft');
  assert.match(compose.services.rabbitmq.image, /-management$/);
  assert.ok(compose.services.prometheus.command?.includes('--enable-feature=exemplar-storage'));
});

test('every host path the compose file mounts exists', () => {
  const all = Object.keys(compose.services).flatMap((service) =>
    mounts(service).map((mount) => ({ service, ...mount })),
  );
  assert.ok(all.length >= 8, `expected the config and provisioning mounts, found ${all.length}`);
  const missing = all.filter((mount) => !existsSync(mount.host)).map((m) => `${m.service}: ${m.host}`);
  assert.deepEqual(missing, []);
});

test('promtool accepts the Prometheus config with its mounted rules and targets', (t) => {
  const root = containerRoot(t, 'prometheus');
  const original = readFileSync(join(composeDir, 'prometheus', 'prometheus.yml'), 'utf8');
  // Inside the scratch root the container's absolute paths become paths under the root.
  const config = join(root, 'prometheus.rooted.yml');
  writeFileSync(config, original.replaceAll('/etc/prometheus/', `${root}/etc/prometheus/`));
  const result = spawnSync('promtool', ['check', 'config', config], { encoding: 'utf8' });
  const output = result.stdout + result.stderr;
  assert.equal(result.status, 0, output);
  assert.doesNotMatch(output, /WARNING/, 'every file_sd file resolves');
  const ruleFiles = readdirSync(join(REPO_ROOT, 'alerts', 'generated')).filter((f) => f.endsWith('.yml'));
  assert.ok(ruleFiles.length > 0, 'alerts/generated has rule files');
  for (const file of ruleFiles) {
    assert.match(output, new RegExp(`${file.replaceAll('.', '\\.')}\\n\\s*SUCCESS: \\d+ rules found`), file);
  }
});

test('amtool accepts the Alertmanager config', (t) => {
  const root = containerRoot(t, 'alertmanager');
  const result = spawnSync(
    'amtool',
    ['check-config', join(root, 'etc', 'alertmanager', 'alertmanager.yml')],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /SUCCESS/);
});

interface Datasource {
  name: string;
  type: string;
  uid?: string;
  url?: string;
  jsonData?: { exemplarTraceIdDestinations?: { name: string; datasourceUid?: string }[] };
}

function readYamlFiles<T>(dir: string): T[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
    .map((f) => parse(readFileSync(join(dir, f), 'utf8')) as T);
}

/** The URL names a compose service and a port that service listens on inside the network. */
function assertServiceUrl(url: string | undefined, service: string): void {
  assert.ok(url, `${service} datasource has a url`);
  const parsed = new URL(url);
  assert.equal(parsed.hostname, service);
  assert.ok(containerPorts(service).includes(Number(parsed.port)), `${url}: port of ${service}`);
}

test('Grafana provisioning: Prometheus exemplars link to the Jaeger datasource, dashboards from the mount', () => {
  const provisioning = join(REPO_ROOT, 'dashboards', 'provisioning');
  const datasources = readYamlFiles<{ datasources?: Datasource[] }>(
    join(provisioning, 'datasources'),
  ).flatMap((file) => file.datasources ?? []);
  const prometheus = datasources.find((d) => d.type === 'prometheus');
  const jaeger = datasources.find((d) => d.type === 'jaeger');
  assert.ok(prometheus && jaeger, `datasources: ${datasources.map((d) => d.type).join(', ')}`);
  assertServiceUrl(prometheus.url, 'prometheus');
  assertServiceUrl(jaeger.url, 'jaeger');
  const links = prometheus.jsonData?.exemplarTraceIdDestinations ?? [];
  assert.ok(
    links.some((link) => link.name === 'trace_id' && link.datasourceUid === jaeger.uid),
    `exemplar trace_id links to the Jaeger datasource (uid ${jaeger.uid}): ${JSON.stringify(links)}`,
  );

  const grafanaMounts = mounts('grafana');
  const generated = grafanaMounts.find((m) => m.host === join(REPO_ROOT, 'dashboards', 'generated'));
  assert.ok(generated, 'dashboards/generated is mounted into Grafana');
  const providers = readYamlFiles<{ providers?: { options?: { path?: string } }[] }>(
    join(provisioning, 'dashboards'),
  ).flatMap((file) => file.providers ?? []);
  assert.ok(
    providers.some((p) => p.options?.path === generated.container),
    `a dashboard provider reads ${generated.container}: ${JSON.stringify(providers)}`,
  );
});
