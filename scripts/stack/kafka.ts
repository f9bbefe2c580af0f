/**
 * Apache Kafka, one combined broker+controller node in KRaft mode, run from Maven Central jars. The
 * jars are fetched once by Maven into the cache (outside git) and reused by every stack.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KAFKA_VERSION, LOG4J_VERSION, logFile, pidFile, type StackConfig } from './config.js';
import { findExecutable, run } from './install.js';
import { isRunning, readPidFile, spawnDaemon, stopRecorded } from './process.js';
import { StackError } from './ready.js';
import type { StackServer } from './server.js';

/** Cached runtime: `<cache>/kafka-<version>/lib/*.jar`, complete once `.complete` exists. */
export function kafkaLibDir(config: StackConfig): string {
  return join(config.cacheDir, `kafka-${KAFKA_VERSION}`, 'lib');
}

function paths(config: StackConfig) {
  const root = join(config.dir, 'kafka');
  return {
    root,
    properties: join(root, 'server.properties'),
    log4j: join(root, 'log4j2.properties'),
    data: join(root, 'data'),
    clusterId: join(root, 'cluster-id'),
  };
}

/** Only the broker and a log4j2 binding: `kafka-tools` would drag in Kafka Connect. */
function runtimePom(): string {
  const dependency = (group: string, artifact: string, version: string) =>
    `    <dependency><groupId>${group}</groupId><artifactId>${artifact}</artifactId><version>${version}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.hoptrace.stack</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
${dependency('org.apache.kafka', 'kafka_2.13', KAFKA_VERSION)}
${dependency('org.apache.logging.log4j', 'log4j-api', LOG4J_VERSION)}
${dependency('org.apache.logging.log4j', 'log4j-core', LOG4J_VERSION)}
${dependency('org.apache.logging.log4j', 'log4j-slf4j-impl', LOG4J_VERSION)}
  </dependencies>
</project>
`;
}

/** The user a SASL listener knows (PLAIN and SCRAM), for tests. */
export const KAFKA_SASL_USER = { username: 'hoptrace', password: 'hoptrace-secret' } as const;

/** `HOPTRACE_KAFKA_SASL_PORT`: an extra SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256/512) on that port. */
function saslPort(config: StackConfig): number | undefined {
  const raw = config.env.HOPTRACE_KAFKA_SASL_PORT;
  if (!raw) return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new StackError(`HOPTRACE_KAFKA_SASL_PORT must be a port, got "${raw}"`, 'kafka');
  return port;
}

function saslProperties(port: number): string {
  const { username, password } = KAFKA_SASL_USER;
  const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  return `sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${username}="${password}";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=${scram}
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=${scram}
# SASL listener on ${port}
`;
}

function serverProperties(config: StackConfig): string {
  const { kafka: port, kafkaController: controller } = config.ports;
  const sasl = saslPort(config);
  const extra = sasl === undefined ? '' : `,SASL_PLAINTEXT://127.0.0.1:${sasl}`;
  return `# Written by \`npm run stack -- up\` on every start (see docs/stack.md).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controller}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}${extra}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}${extra}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${sasl === undefined ? '' : ',SASL_PLAINTEXT:SASL_PLAINTEXT'}
${sasl === undefined ? '' : saslProperties(sasl)}log.dirs=${paths(config).data}
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=24
`;
}

const LOG4J2_PROPERTIES = `# Everything to stdout, which the stack sends to logs/kafka.log.
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
`;

function requireJava(): string {
  const java = findExecutable('java');
  if (!java) throw new StackError('kafka needs Java 17 or newer (`java` not found on PATH)', 'kafka');
  return java;
}

function classpath(config: StackConfig): string {
  return `${kafkaLibDir(config)}/*`;
}

async function formatStorage(config: StackConfig): Promise<void> {
  const p = paths(config);
  if (existsSync(join(p.data, 'meta.properties'))) return;
  const java = requireJava();
  const log = logFile(config, 'kafka');
  let clusterId = existsSync(p.clusterId) ? readFileSync(p.clusterId, 'utf8').trim() : '';
  if (!clusterId) {
    const output = await run(java, ['-cp', classpath(config), 'kafka.tools.StorageTool', 'random-uuid'], {
      env: config.env,
      timeoutMs: 60_000,
    });
    clusterId = output.trim().split('\n').pop()!.trim();
    writeFileSync(p.clusterId, `${clusterId}\n`);
  }
  // Static voters (controller.quorum.voters): no --standalone.
  await run(
    java,
    [
      `-Dlog4j2.configurationFile=${p.log4j}`,
      '-cp',
      classpath(config),
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      p.properties,
      // SCRAM credentials live in the cluster metadata: written at format time.
      ...(saslPort(config) === undefined
        ? []
        : ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => [
            '--add-scram',
            `${m}=[name=${KAFKA_SASL_USER.username},password=${KAFKA_SASL_USER.password}]`,
          ])),
    ],
    { env: config.env, logFile: log, timeoutMs: 60_000 },
  );
}

export const kafka: StackServer = {
  name: 'kafka',
  readyTimeoutMs: 90_000,
  ports: (config) => {
    const sasl = saslPort(config);
    return [config.ports.kafka, config.ports.kafkaController, ...(sasl === undefined ? [] : [sasl])];
  },
  describe: (config) => `127.0.0.1:${config.ports.kafka} (Kafka ${KAFKA_VERSION}, KRaft)`,

  async install(config) {
    const lib = kafkaLibDir(config);
    if (existsSync(join(lib, '.complete'))) return;
    requireJava();
    const mvn = findExecutable('mvn');
    if (!mvn) throw new StackError('kafka needs Maven (`mvn`) to fetch its jars', 'kafka');
    const log = logFile(config, 'kafka');
    process.stderr.write(
      `stack: fetching Kafka ${KAFKA_VERSION} jars with Maven into ${lib} (log: ${log})\n`,
    );
    const versionDir = join(lib, '..');
    const staging = join(versionDir, 'lib.partial');
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(versionDir, { recursive: true });
    const pom = join(versionDir, 'pom.xml');
    writeFileSync(pom, runtimePom());
    await run(
      mvn,
      [
        '-B',
        '-q',
        '-f',
        pom,
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${staging}`,
      ],
      { env: config.env, logFile: log, timeoutMs: 15 * 60_000 },
    ).catch((err: Error) => {
      throw new StackError(
        `kafka: fetching jars with Maven failed: ${err.message}; see ${log}`,
        'kafka',
        log,
      );
    });
    writeFileSync(join(staging, '.complete'), `${new Date().toISOString()}\n`);
    rmSync(lib, { recursive: true, force: true });
    renameSync(staging, lib);
  },

  async start(config) {
    const p = paths(config);
    mkdirSync(p.data, { recursive: true });
    writeFileSync(p.properties, serverProperties(config));
    writeFileSync(p.log4j, LOG4J2_PROPERTIES);
    await formatStorage(config);
    return spawnDaemon({
      command: requireJava(),
      args: [
        '-Xms256m',
        '-Xmx512m',
        '-XX:+UseG1GC',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${p.log4j}`,
        '-cp',
        classpath(config),
        'kafka.Kafka',
        p.properties,
      ],
      env: config.env,
      cwd: p.root,
      logFile: logFile(config, 'kafka'),
      pidFile: pidFile(config, 'kafka'),
      owner: config.dir,
      server: 'kafka',
    });
  },

  loadClient: () => import('kafkajs'),

  async probe(config) {
    const { Kafka, logLevel } = (await import('kafkajs')).default;
    const admin = new Kafka({
      clientId: 'hoptrace-stack-ready',
      brokers: [`127.0.0.1:${config.ports.kafka}`],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      await admin.listTopics();
    } finally {
      await admin.disconnect().catch(() => {});
    }
  },

  running: (config) => isRunning(readPidFile(pidFile(config, 'kafka'))),
  // SIGTERM runs Kafka's controlled shutdown; 30 s covers it on a loaded 2-core machine.
  stop: (config) => stopRecorded(pidFile(config, 'kafka'), 30_000),
};
