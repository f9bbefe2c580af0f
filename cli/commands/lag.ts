/** `hoptrace lag`: Kafka consumer lag per group, topic and partition, as a table (once, or `--watch`). */
import type { KafkaConfig } from 'kafkajs';
import type { GroupLag, KafkaLagMonitor, LagSnapshot } from '../../monitors/kafka/lag-monitor.js';
import { type Command, UsageError } from '../command.js';
import { brokersFlag, integerFlag, parseFlags, regexFlag } from '../flags.js';
import { KAFKA_CONNECTION_HELP, kafkaConnection, kafkaConnectionFlags } from '../kafka-connection.js';

const HELP = `Usage: hoptrace lag --brokers HOSTS [--group G]... [--group-regex RE] [--topic-regex RE]
                    [--sample MS] [--watch] [--interval MS] [--window MS] [TLS/SASL flags]

Shows Kafka consumer lag: per group, topic and partition the log start, committed and high watermark
offsets, the lag in messages (high watermark - committed), messages lost (deleted by retention before
the group read them) and the lag in seconds (age of the oldest record the group has not processed), and
a status per group (OK, WARN, STALL, STOP; see docs/kafka.md). A status needs two looks at the offsets:
once, the command reads them twice --sample apart where one look cannot tell (n/a with --sample 0).
Partitions a group never committed are listed below the table.

Flags:
  --brokers HOSTS   comma-separated bootstrap brokers, e.g. 127.0.0.1:9092 (or HOPTRACE_KAFKA_BROKERS)
  --group G         only this consumer group; repeat for several (default: every consumer group)
  --group-regex RE  only the groups matching this regular expression
  --topic-regex RE  only the topics matching this regular expression
  --sample MS       once: the second look, MS later, for the status (default 5000; 0: status n/a)
  --watch           poll every --interval and reprint
  --interval MS     poll period for --watch (default 5000)
  --window MS       --watch: status window, no progress for this long leaves OK (default 30000)
${KAFKA_CONNECTION_HELP('')}
  -h, --help        this help

Examples:
  hoptrace lag --brokers 127.0.0.1:9092
  hoptrace lag --brokers 127.0.0.1:9092 --group-regex '^billing-' --watch --interval 2000
  HOPTRACE_KAFKA_SASL_PASSWORD=... hoptrace lag --brokers kafka:9093 --tls --sasl-mechanism scram-sha-512 --sasl-username app`;

interface LagArgs {
  brokers: string[];
  groups: string[] | RegExp | undefined;
  topics: RegExp | undefined;
  watch: boolean;
  intervalMs: number;
  windowMs: number;
  sampleMs: number;
  connection: Pick<KafkaConfig, 'ssl' | 'sasl'>;
}

export function parseLagArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): LagArgs {
  const { values } = parseFlags({
    args: argv,
    options: {
      brokers: { type: 'string' },
      group: { type: 'string', multiple: true },
      'group-regex': { type: 'string' },
      'topic-regex': { type: 'string' },
      watch: { type: 'boolean', default: false },
      interval: { type: 'string' },
      window: { type: 'string' },
      sample: { type: 'string' },
      ...kafkaConnectionFlags(''),
    },
    strict: true,
    allowPositionals: false,
  });
  const brokers = brokersFlag('brokers', values.brokers ?? env.HOPTRACE_KAFKA_BROKERS);
  if (!brokers) throw new UsageError('--brokers is required (e.g. --brokers 127.0.0.1:9092)');
  const groupRegex = regexFlag('group-regex', values['group-regex']);
  if (groupRegex && values.group) throw new UsageError('--group and --group-regex do not go together');
  return {
    brokers,
    groups: values.group ?? groupRegex,
    topics: regexFlag('topic-regex', values['topic-regex']),
    watch: values.watch === true,
    intervalMs: integerFlag('interval', values.interval, { min: 100 }) ?? 5000,
    windowMs: integerFlag('window', values.window, { min: 1 }) ?? 30_000,
    sampleMs: integerFlag('sample', values.sample, { min: 0 }) ?? 5000,
    connection: kafkaConnection('', values, env),
  };
}

function formatSeconds(seconds: number | undefined, source: string | undefined): string {
  if (seconds === undefined) return '-';
  const text = seconds < 10 ? seconds.toFixed(3) : seconds < 1000 ? seconds.toFixed(1) : seconds.toFixed(0);
  return source === 'interpolated' ? `~${text}` : text;
}

/** A group's status as the table shows it: `n/a` until it rests on a full window (or the group caught up). */
export function shownStatus(g: GroupLag): string {
  if (g.status === undefined) return '-';
  return g.settled ? g.status : 'n/a';
}

/** The snapshot as an aligned text table, then data loss, uncommitted partitions and errors. */
export function formatLagTable(snapshot: LagSnapshot): string {
  const header = [
    'GROUP',
    'STATUS',
    'TOPIC',
    'PARTITION',
    'START',
    'COMMITTED',
    'HIGH',
    'LAG',
    'LOST',
    'LAG_SECONDS',
  ];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const g of snapshot.groups) {
    if (g.partitions.length === 0) rows.push([g.group, shownStatus(g), ...header.slice(2).map(() => '-')]);
    for (const p of g.partitions) {
      rows.push([
        g.group,
        shownStatus(g),
        p.topic,
        String(p.partition),
        p.lowWatermark,
        p.committedOffset,
        p.highWatermark,
        String(p.lag),
        String(p.lostMessages),
        formatSeconds(p.lagSeconds, p.lagSecondsSource),
      ]);
      if (p.lostMessages > 0)
        notes.push(
          `DATA LOSS: group ${g.group} ${p.topic}/${p.partition}: ${p.lostMessages} messages deleted before the group read them`,
        );
    }
    for (const u of g.uncommitted)
      notes.push(`uncommitted: group ${g.group} ${u.topic} partitions ${u.partitions.join(',')}`);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [line(header), ...rows.map(line)];
  if (snapshot.groups.length === 0) out.push('(no consumer groups)');
  out.push(...notes);
  for (const e of snapshot.errors) out.push(`error${e.group ? ` (${e.group})` : ''}: ${e.message}`);
  return out.join('\n');
}

async function run(argv: string[]): Promise<number> {
  const args = parseLagArgs(argv);
  const { createKafkaLagMonitor } = await import('../../monitors/kafka/lag-monitor.js');
  try {
    await import('kafkajs');
  } catch {
    throw new UsageError('hoptrace lag needs the kafkajs package: npm install kafkajs');
  }
  const monitor: KafkaLagMonitor = createKafkaLagMonitor({
    brokers: args.brokers,
    ...args.connection,
    groups: args.groups,
    topics: args.topics,
    intervalMs: args.intervalMs,
    // Once: the two looks --sample apart are the whole window.
    windowMs: args.watch ? args.windowMs : Math.max(1, args.sampleMs),
  });
  try {
    let snapshot: LagSnapshot;
    try {
      snapshot = await monitor.poll();
    } catch (err) {
      throw new UsageError(`cannot read lag from ${args.brokers.join(',')}: ${(err as Error).message}`);
    }
    if (!args.watch) {
      if (args.sampleMs > 0 && snapshot.groups.some((g) => !g.settled)) {
        await new Promise((resolve) => setTimeout(resolve, args.sampleMs));
        snapshot = await monitor.poll();
      }
      console.log(formatLagTable(snapshot));
      return snapshot.errors.length > 0 ? 1 : 0;
    }
    console.log(formatLagTable(snapshot));
    const stop = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    for (;;) {
      const tick = new Promise<'tick'>((resolve) => setTimeout(() => resolve('tick'), args.intervalMs));
      if ((await Promise.race([tick, stop])) !== 'tick') return 0;
      try {
        snapshot = await monitor.poll();
        console.log(`\n${new Date(snapshot.at).toISOString()}\n${formatLagTable(snapshot)}`);
      } catch (err) {
        console.error(`hoptrace: poll failed: ${(err as Error).message}`);
      }
    }
  } finally {
    await monitor.close();
  }
}

export const command: Command = {
  name: 'lag',
  summary: 'Kafka consumer lag per group and partition (messages, seconds, status)',
  help: HELP,
  run,
};
