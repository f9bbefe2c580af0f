/**
 * A cheaper OTel Context for the message path.
 *
 * The API's own context copies a Map (and creates three closures) on every `setValue`. Each publish and
 * each delivery sets three or four values (span, baggage, flow) on top of the context it starts from,
 * and the SDK and API add more; in the bus fan-out those copies were about 15% of the CPU time. A
 * `LayeredContext` keeps its own entries in one small array over the context it was derived from, so a
 * `setValue` copies a few array slots. Deriving from a layered context stays layered with the entries
 * merged (never a chain of layers), so lookups cost at most one short scan plus the base's own lookup,
 * and an old context is not kept alive by newer ones. Everything that derives from one (the SDK, the
 * API's `trace.setSpan`, user code) gets the same cheap copies; behaviour is the Context interface's.
 */
import { type Context, INVALID_SPAN_CONTEXT, propagation, trace } from '@opentelemetry/api';

const NO_ENTRIES: readonly unknown[] = [];

export class LayeredContext implements Context {
  private constructor(
    private readonly base: Context,
    /** Keys and values interleaved: `[key0, value0, key1, value1, ...]`. */
    private readonly entries: readonly unknown[],
  ) {}

  /** `ctx` as a layered context: itself when it already is one, else an empty layer over it. */
  static over(ctx: Context): LayeredContext {
    return ctx instanceof LayeredContext ? ctx : new LayeredContext(ctx, NO_ENTRIES);
  }

  getValue(key: symbol): unknown {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i += 2) if (entries[i] === key) return entries[i + 1];
    return this.base.getValue(key);
  }

  setValue(key: symbol, value: unknown): LayeredContext {
    return new LayeredContext(this.base, withEntry(this.entries, key, value));
  }

  /**
   * This context with up to three entries set in one copy (a pair whose key is `undefined` is skipped), where
   * `setValue` would copy once per entry.
   */
  setValues(
    key1: symbol,
    value1: unknown,
    key2?: symbol,
    value2?: unknown,
    key3?: symbol,
    value3?: unknown,
  ): LayeredContext {
    const entries = this.entries;
    const next = new Array<unknown>(entries.length + 6);
    let length = entries.length;
    for (let i = 0; i < length; i++) next[i] = entries[i];
    length = putEntry(next, length, key1, value1);
    if (key2 !== undefined) length = putEntry(next, length, key2, value2);
    if (key3 !== undefined) length = putEntry(next, length, key3, value3);
    next.length = length;
    return new LayeredContext(this.base, next);
  }

  /** An own entry holding `undefined` hides the base's value, which is what deleting means here. */
  deleteValue(key: symbol): LayeredContext {
    return new LayeredContext(this.base, withEntry(this.entries, key, undefined));
  }
}

function withEntry(entries: readonly unknown[], key: symbol, value: unknown): unknown[] {
  const length = entries.length;
  for (let i = 0; i < length; i += 2) {
    if (entries[i] === key) {
      const next = entries.slice();
      next[i + 1] = value;
      return next;
    }
  }
  // Sized once: a copy followed by push would grow the backing store.
  const next = new Array<unknown>(length + 2);
  for (let i = 0; i < length; i++) next[i] = entries[i];
  next[length] = key;
  next[length + 1] = value;
  return next;
}

/** Sets `key` in `entries` (the first `length` slots used, room after them): returns the new length. */
function putEntry(entries: unknown[], length: number, key: symbol, value: unknown): number {
  for (let i = 0; i < length; i += 2) {
    if (entries[i] === key) {
      entries[i + 1] = value;
      return length;
    }
  }
  entries[length] = key;
  entries[length + 1] = value;
  return length + 2;
}

/**
 * The context key `write` sets, found once by watching it write into a probe: `trace.setSpan` and
 * `propagation.setBaggage` keep their keys private, and `setValues` needs them. Undefined when `write`
 * set none (an API that changed: callers then use `write` itself).
 */
export function keySetBy(write: (ctx: Context) => unknown): symbol | undefined {
  let found: symbol | undefined;
  const probe: Context = {
    getValue: () => undefined,
    setValue(key) {
      found ??= key;
      return probe;
    },
    deleteValue: () => probe,
  };
  try {
    write(probe);
  } catch {
    return undefined;
  }
  return found;
}

/** The API's span and baggage keys, for `setValues` (undefined if an API version hides them from the probe). */
export const SPAN_KEY = keySetBy((ctx) => trace.setSpan(ctx, trace.wrapSpanContext(INVALID_SPAN_CONTEXT)));
export const BAGGAGE_KEY = keySetBy((ctx) => propagation.setBaggage(ctx, propagation.createBaggage()));
