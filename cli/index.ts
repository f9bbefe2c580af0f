#!/usr/bin/env node
/** `hoptrace` CLI: dispatches to one module per command, loaded lazily so each stays cheap to start. */
import type { Command } from './command.js';
import { UsageError } from './command.js';

const COMMANDS: Record<string, () => Promise<{ command: Command }>> = {
  demo: () => import('./commands/demo.js'),
  collector: () => import('./commands/collector.js'),
  journey: () => import('./commands/journey.js'),
  lag: () => import('./commands/lag.js'),
};

async function printHelp(): Promise<void> {
  const lines = ['Usage: hoptrace <command> [flags]', '', 'Commands:'];
  for (const load of Object.values(COMMANDS)) {
    const { command } = await load();
    lines.push(`  ${command.name.padEnd(11)}${command.summary}`);
  }
  lines.push('', 'Run `hoptrace <command> --help` for its flags.');
  console.log(lines.join('\n'));
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    await printHelp();
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) throw new UsageError(`unknown command "${name}"; run \`hoptrace --help\` for the list`);
  const { command } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`hoptrace: ${message}`);
    if (process.env.HOPTRACE_DEBUG && err instanceof Error) console.error(err.stack);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
