/**
 * Option resolution, written once: `DEFAULT_OPTIONS` (the defaults of every wrapper option) and one
 * resolver, `resolveOption`, whose policy for an invalid value is explicit:
 * - `warnPolicy(guard)`: wrapper options. A bad value is warned about once (`option <name> is invalid;
 *   using <default>`) and the default is used: instrumentation never breaks the application it traces.
 * - `throwPolicy(makeError)`: configuration the caller asked for by name (a bus subscription, the
 *   collector). A bad value throws `makeError("<name> must be <expected>, got <value>")`.
 * An option left undefined takes its default under either policy, silently.
 */
import type { Guard } from './safe.js';
import { HEADER_CORRELATION_ID } from './semconv.js';

/** Defaults of the options every wrapper shares (`InstrumentationOptions`) and of the delivery lifecycle. */
export interface DefaultOptions {
  readonly serviceName: undefined;
  readonly linkMode: 'parent';
  readonly correlationHeader: string;
  readonly captureHeaders: readonly string[];
  readonly maxDestinations: number;
  /** How long a consumer span waits for a settle that comes after the handler. */
  readonly settleTimeoutMs: number;
}

export const DEFAULT_OPTIONS: DefaultOptions = Object.freeze({
  serviceName: undefined,
  linkMode: 'parent',
  correlationHeader: HEADER_CORRELATION_ID,
  captureHeaders: Object.freeze([]),
  maxDestinations: 200,
  settleTimeoutMs: 30_000,
});

export interface OptionPolicy {
  readonly onInvalid: 'warn' | 'throw';
  /** Reports an invalid value; returns only under the warn policy. */
  invalid(name: string, expected: string, value: unknown, fallbackText: string): void;
}

export function warnPolicy(guard: Guard): OptionPolicy {
  return {
    onInvalid: 'warn',
    invalid(name, _expected, _value, fallbackText) {
      guard.warnOnce(`option:${name}`, `option ${name} is invalid; using ${fallbackText}`);
    },
  };
}

export function throwPolicy(makeError: (message: string) => Error): OptionPolicy {
  return {
    onInvalid: 'throw',
    invalid(name, expected, value) {
      throw makeError(`${name} must be ${expected}, got ${describe(value)}`);
    },
  };
}

/** What an option must be: its description in messages, and the test. */
export interface OptionRule<T> {
  readonly expected: string;
  accepts(value: unknown): value is T;
}

function rule<T>(expected: string, accepts: (value: unknown) => boolean): OptionRule<T> {
  return { expected, accepts: accepts as (value: unknown) => value is T };
}

const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const RULES = {
  positiveInt: rule<number>('a positive integer', (v) => Number.isInteger(v) && (v as number) >= 1),
  nonNegativeInt: rule<number>('a non-negative integer', (v) => Number.isInteger(v) && (v as number) >= 0),
  nonNegativeNumber: rule<number>(
    'a non-negative number',
    (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
  ),
  positiveNumber: rule<number>(
    'a positive number',
    (v) => typeof v === 'number' && Number.isFinite(v) && v > 0,
  ),
  boolean: rule<boolean>('true or false', (v) => typeof v === 'boolean'),
  nonEmptyString: rule<string>('a non-empty string', (v) => typeof v === 'string' && v.length > 0),
  headerName: rule<string>('a header name', (v) => typeof v === 'string' && HEADER_NAME.test(v)),
  stringList: rule<readonly string[]>(
    'a list of strings',
    (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'),
  ),
  function: rule<(...args: never[]) => unknown>('a function', (v) => typeof v === 'function'),
  object: rule<object>('an object', (v) => typeof v === 'object' && v !== null),
  oneOf<T extends string>(...values: T[]): OptionRule<T> {
    return rule<T>(values.map((v) => `'${v}'`).join(' or '), (v) => values.includes(v as T));
  },
} as const;

/**
 * `value` when `rule` accepts it; `fallback` when it is undefined; otherwise what `policy` says: warn
 * and use `fallback` (described as `fallbackText`, default its string form), or throw.
 */
export function resolveOption<T, F = T>(
  policy: OptionPolicy,
  name: string,
  value: unknown,
  rule: OptionRule<T>,
  fallback: F,
  fallbackText: string = describe(fallback),
): T | F {
  if (value === undefined) return fallback;
  if (rule.accepts(value)) return value;
  policy.invalid(name, rule.expected, value, fallbackText);
  return fallback;
}

/** The most common rule, spelled out: an integer >= 1. */
export function positiveInt(policy: OptionPolicy, name: string, value: unknown, fallback: number): number {
  return resolveOption(policy, name, value, RULES.positiveInt, fallback);
}

function describe(value: unknown): string {
  if (value === undefined) return 'none';
  if (typeof value === 'function') return 'a function';
  return String(value);
}
