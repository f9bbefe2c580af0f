import { renderJourney } from '../../collector/journey/render.js';
import type { Journey, JourneySummary } from '../../collector/types.js';
import { type Command, UsageError } from '../command.js';
import { parseFlags, urlFlag } from '../flags.js';

const HELP = `Usage: hoptrace journey <correlationId> [flags]
       hoptrace journey --message <messageId> [flags]
       hoptrace journey --list [N] [flags]

Asks a running hoptrace collector for a message flow's journey and prints it as a tree: each publish,
its deliveries per consumer group (hop latency, outcome, retries, dead letters, duplicates) and the
publishes made while handling them.

Flags:
  --collector URL   the collector (default $HOPTRACE_COLLECTOR_URL or http://127.0.0.1:4318)
  --message ID      look up by message ID instead of correlation ID
  --list [N]        list the N most recent correlation IDs (default 20)
  --json            print the journey JSON instead of the tree
  --ids             show trace and span IDs in the tree
  --token T         bearer token (default $HOPTRACE_COLLECTOR_TOKEN)
  -h, --help        this text

Examples:
  npx hoptrace journey order-42
  npx hoptrace journey --message 5f0c6f1e-... --collector http://collector:4318
  npx hoptrace journey --list 5`;

interface JourneyFlags {
  collector: URL;
  id: string | undefined;
  message: string | undefined;
  list: number | undefined;
  json: boolean;
  ids: boolean;
  token: string | undefined;
}

export function parseJourneyFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): JourneyFlags {
  // `--list` takes an optional count: accept `--list` alone or followed by a number.
  const args = [...argv];
  let list: number | undefined;
  const listAt = args.indexOf('--list');
  if (listAt >= 0) {
    const next = args[listAt + 1];
    if (next !== undefined && /^\d+$/.test(next)) {
      list = Number(next);
      args.splice(listAt, 2);
    } else {
      list = 20;
      args.splice(listAt, 1);
    }
    if (list < 1 || list > 1000) throw new UsageError('--list takes a count from 1 to 1000');
  }
  const parsed = parseFlags({
    args,
    options: {
      collector: { type: 'string' },
      message: { type: 'string' },
      json: { type: 'boolean', default: false },
      ids: { type: 'boolean', default: false },
      token: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });

  const values = parsed.values as {
    collector?: string;
    message?: string;
    json: boolean;
    ids: boolean;
    token?: string;
  };
  const positionals = parsed.positionals;
  if (positionals.length > 1)
    throw new UsageError(`expected one correlation ID, got ${positionals.length} arguments`);
  const id = positionals[0];
  const modes = [id !== undefined, values.message !== undefined, list !== undefined].filter(Boolean).length;
  if (modes === 0)
    throw new UsageError('give a correlation ID, --message ID or --list; see `hoptrace journey --help`');
  if (modes > 1) throw new UsageError('give only one of: a correlation ID, --message ID, --list');
  const base = values.collector ?? env.HOPTRACE_COLLECTOR_URL ?? 'http://127.0.0.1:4318';
  const collector = urlFlag('collector', base, 'http://127.0.0.1:4318') as URL;
  return {
    collector,
    id,
    message: values.message,
    list,
    json: values.json,
    ids: values.ids,
    token: values.token ?? env.HOPTRACE_COLLECTOR_TOKEN,
  };
}

async function getJson<T>(flags: JourneyFlags, path: string, notFound: string): Promise<T> {
  const url = new URL(path, flags.collector);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: flags.token ? { authorization: `Bearer ${flags.token}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new UsageError(`cannot reach the collector at ${flags.collector.origin} (${reason})`);
  }
  if (response.status === 404) throw new Error(notFound);
  if (response.status === 401)
    throw new UsageError('the collector wants a token: pass --token or set HOPTRACE_COLLECTOR_TOKEN');
  if (!response.ok) throw new Error(`the collector answered HTTP ${response.status} for ${url.pathname}`);
  return (await response.json()) as T;
}

export const command: Command = {
  name: 'journey',
  summary: "print a message flow's journey (publishes, deliveries, retries, dead letters) from a collector",
  help: HELP,
  async run(argv) {
    const flags = parseJourneyFlags(argv);
    if (flags.list !== undefined) {
      const { journeys } = await getJson<{ journeys: JourneySummary[] }>(
        flags,
        `/api/journeys?limit=${flags.list}`,
        'no journeys API',
      );
      if (flags.json) console.log(JSON.stringify(journeys, null, 2));
      else if (journeys.length === 0) console.log('no journeys yet');
      else
        for (const j of journeys)
          console.log(
            `${j.correlationId}  ${j.publishes} publishes, ${j.deliveries} deliveries, last ${j.lastSeen}`,
          );
      return 0;
    }
    const journey = flags.message
      ? await getJson<Journey>(
          flags,
          `/api/messages/${encodeURIComponent(flags.message)}`,
          `no journey for message ID "${flags.message}" at ${flags.collector.origin}`,
        )
      : await getJson<Journey>(
          flags,
          `/api/journeys/${encodeURIComponent(flags.id ?? '')}`,
          `no journey for correlation ID "${flags.id}" at ${flags.collector.origin}`,
        );
    if (flags.json) {
      console.log(JSON.stringify(journey, null, 2));
      return 0;
    }
    console.log(renderJourney(journey, { ids: flags.ids }));
    // The journey's stable deep link in the collector's web UI.
    const id = journey.correlationId ?? flags.id;
    if (id !== undefined)
      console.log(`\n${new URL(`/journeys/${encodeURIComponent(id)}`, flags.collector).href}`);
    return 0;
  },
};
