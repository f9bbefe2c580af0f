/** The shape every `hoptrace <command>` module exports as `command`. */
export interface Command {
  name: string;
  /** One line for `hoptrace --help`. */
  summary: string;
  /** Full `--help` text: usage line, flags, examples. */
  help: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** A problem the user can fix (bad flag, unreachable server): printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
