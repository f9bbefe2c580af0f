/** Flag parsing shared by the commands: every problem becomes one UsageError line. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './command.js';

/** `parseArgs`, with its errors (unknown flag, missing value) as UsageErrors. */
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** An integer flag within [min, max]; undefined when absent. */
export function integerFlag(
  name: string,
  raw: string | undefined,
  { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`--${name} must be an integer ${range}, got "${raw}"`);
  }
  return n;
}

/** A URL flag; undefined when absent. */
export function urlFlag(name: string, raw: string | undefined, example: string): URL | undefined {
  if (raw === undefined) return undefined;
  try {
    return new URL(raw);
  } catch {
    // Echoed without its user info: an unparsable URL may still carry a password.
    throw new UsageError(
      `--${name} must be a URL such as ${example}, got "${raw.replace(/\/\/[^/]*@/, '//***@')}"`,
    );
  }
}

/** A regular expression flag; undefined when absent. */
export function regexFlag(name: string, raw: string | undefined): RegExp | undefined {
  if (raw === undefined) return undefined;
  try {
    return new RegExp(raw);
  } catch (err) {
    throw new UsageError(`--${name}: ${(err as Error).message}`);
  }
}

/** A comma-separated list; undefined when absent. */
export function listFlag(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Kafka brokers as `host:port,host:port`; undefined when absent. */
export function brokersFlag(name: string, raw: string | undefined): string[] | undefined {
  const brokers = listFlag(raw);
  if (brokers === undefined) return undefined;
  if (brokers.length === 0) throw new UsageError(`--${name} needs at least one host:port`);
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) throw new UsageError(`--${name}: "${broker}" is not host:port`);
  }
  return brokers;
}

/** A URL with its password replaced, for messages and logs. */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}
