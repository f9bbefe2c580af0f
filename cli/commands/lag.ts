/** `hoptrace lag`: Kafka consumer lag per group, topic and partition, as a table (once, or `--watch`). */
import type { GroupLag, KafkaLagMonitor, LagSnapshot } from '../../monitors/kafka/lag-monitor.js';
import { type Command, UsageError } from '../command.js';
import { brokersFlag, integerFlag, parseFlags } from '../flags.js';

const HELP = `Usage: hoptrace lag --brokers HOSTS [--group G]... [--watch] [--interval MS] [--window N]

Shows Kafka consumer lag: per group, topic and partition the committed offset, the high watermark,
the lag in messages (high watermark - committed) and in seconds (age of the record at the committed
offset), and a status per group (OK, WARN, STALL, STOP; see docs/kafka.md).
Partitions a group never committed are not shown.

Flags:
  --brokers HOSTS   comma-separated bootstrap brokers, e.g. 127.0.0.1:9092 (or HOPTRACE_KAFKA_BROKERS)
  --group G         only this consumer group; repeat for several (default: every consumer group)
  --watch           poll every --interval and reprint; status needs --window polls to leave OK
  --interval MS     poll period for --watch (default 5000)
  --window N        evaluations per status window (default 10)
  -h, --help        this help

Examples:
  hoptrace lag --brokers 127.0.0.1:9092
  hoptrace lag --brokers 127.0.0.1:9092 --group billing --watch --interval 2000`;

interface LagArgs {
  brokers: string[];
  groups: string[] | undefined;
  watch: boolean;
  intervalMs: number;
  windowSize: number;
}

export function parseLagArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): LagArgs {
  const { values } = parseFlags({
    args: argv,
    options: {
      brokers: { type: 'string' },
      group: { type: 'string', multiple: true },
      watch: { type: 'boolean', default: false },
      interval: { type: 'string' },
      window: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const brokers = brokersFlag('brokers', values.brokers ?? env.HOPTRACE_KAFKA_BROKERS);
  if (!brokers) throw new UsageError('--brokers is required (e.g. --brokers 127.0.0.1:9092)');
  return {
    brokers,
    groups: values.group,
    watch: values.watch === true,
    intervalMs: integerFlag('interval', values.interval, { min: 100 }) ?? 5000,
    windowSize: integerFlag('window', values.window, { min: 1 }) ?? 10,
  };
}

function formatSeconds(seconds: number | undefined, source: string | undefined): string {
  if (seconds === undefined) return '-';
  const text = seconds < 10 ? seconds.toFixed(3) : seconds < 1000 ? seconds.toFixed(1) : seconds.toFixed(0);
  return source === 'interpolated' ? `~${text}` : text;
}

/** The snapshot as an aligned text table. */
export function formatLagTable(snapshot: LagSnapshot): string {
  const header = ['GROUP', 'STATUS', 'TOPIC', 'PARTITION', 'COMMITTED', 'HIGH', 'LAG', 'LAG_SECONDS'];
  const rows: string[][] = [];
  const groupRow = (g: GroupLag) => [g.group, g.status ?? '-', '-', '-', '-', '-', '-', '-'];
  for (const g of snapshot.groups) {
    if (g.partitions.length === 0) {
      rows.push(groupRow(g));
      continue;
    }
    for (const p of g.partitions) {
      rows.push([
        g.group,
        g.status ?? '-',
        p.topic,
        String(p.partition),
        p.committedOffset,
        p.highWatermark,
        String(p.lag),
        formatSeconds(p.lagSeconds, p.lagSecondsSource),
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [line(header), ...rows.map(line)];
  if (snapshot.groups.length === 0) out.push('(no consumer groups)');
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
    groups: args.groups,
    intervalMs: args.intervalMs,
    windowSize: args.windowSize,
  });
  try {
    let snapshot: LagSnapshot;
    try {
      snapshot = await monitor.poll();
    } catch (err) {
      throw new UsageError(`cannot read lag from ${args.brokers.join(',')}: ${(err as Error).message}`);
    }
    console.log(formatLagTable(snapshot));
    if (!args.watch) return snapshot.errors.length > 0 ? 1 : 0;
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
