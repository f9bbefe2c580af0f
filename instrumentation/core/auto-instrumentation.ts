/**
 * The shared base of hoptrace's OpenTelemetry `Instrumentation` classes (one per transport): they
 * patch a client's entry point when the application loads it (through the maintained
 * `@opentelemetry/instrumentation` base, which hooks `require` and, with its loader, `import`) and
 * hand every object the client creates to the transport's explicit wrapper. Wrappers are idempotent,
 * so an object is never instrumented twice (wrapper + auto, or two registrations).
 */
import type { TracerProvider } from '@opentelemetry/api';
import {
  InstrumentationBase,
  type InstrumentationConfig,
  type InstrumentationModuleDefinition,
  isWrapped,
} from '@opentelemetry/instrumentation';
import { guardFor } from './safe.js';
import type { InstrumentationOptions } from './types.js';
import { VERSION } from './version.js';

/** The transport's wrapper options plus OpenTelemetry's `enabled`. */
export type HoptraceInstrumentationConfig<TOptions extends InstrumentationOptions<never, never>> =
  InstrumentationConfig & TOptions;

/**
 * Functions hoptrace put in place: a set, not a marker property, since a property set on a class
 * stand-in lands on the class itself, and subclasses inherit it.
 */
const patchedFunctions = new WeakSet<object>();

/** One property of a module's exports to replace while enabled. */
interface Patch {
  target: Record<PropertyKey, unknown>;
  name: string;
  original: unknown;
}

export abstract class HoptraceInstrumentation<
  TOptions extends InstrumentationOptions<never, never>,
> extends InstrumentationBase<HoptraceInstrumentationConfig<TOptions>> {
  #tracerProvider: TracerProvider | undefined;
  #patches: Patch[] = [];

  constructor(transport: string, config: HoptraceInstrumentationConfig<TOptions> = {} as never) {
    super(`hoptrace-${transport}`, VERSION, config);
  }

  /** NodeSDK and registerInstrumentations hand the SDK's provider over here. */
  override setTracerProvider(tracerProvider: TracerProvider): void {
    super.setTracerProvider(tracerProvider);
    this.#tracerProvider = tracerProvider;
  }

  protected abstract override init(): InstrumentationModuleDefinition[];

  /** The wrapper options: the config without `enabled`, with the SDK's provider unless one was given. */
  protected wrapperOptions(): TOptions {
    const { enabled: _enabled, ...options } = this.getConfig();
    if (options.tracerProvider === undefined && this.#tracerProvider !== undefined) {
      (options as InstrumentationOptions<never, never>).tracerProvider = this.#tracerProvider;
    }
    return options as unknown as TOptions;
  }

  /**
   * Replaces `exports[name]` with `replacement(original)` on a module's exports and returns the exports
   * to hand on (the patch function's result). For a module loaded through `import`, the namespace and
   * its `default` (CommonJS exports) are both patched, so named and default imports see the same
   * function. CommonJS exports whose property is a getter (TypeScript and esbuild re-exports) are
   * handed on as a copy with the patched property. A function patched already (a second
   * registration) is left alone.
   */
  protected patchExport(
    moduleExports: unknown,
    name: string,
    replacement: (original: never) => unknown,
  ): unknown {
    clientLoaded();
    let result = moduleExports;
    for (const target of exportTargets(moduleExports)) {
      const original = target[name];
      if (typeof original !== 'function' || patchedFunctions.has(original)) continue;
      const patched = replacement(original as never);
      if (typeof patched === 'function') patchedFunctions.add(patched);
      if (assign(target, name, patched)) {
        this.#patches.push({ target, name, original });
        continue;
      }
      const copy = withExport(target, name, patched);
      this.#patches.push({ target: copy, name, original });
      if (target === moduleExports) result = copy;
      else if (!assign(moduleExports as Record<PropertyKey, unknown>, 'default', copy)) {
        this.warnOnce(`patch:${name}`, `could not patch ${name}; the client is left as it is`);
      }
    }
    return result;
  }

  /**
   * Replaces the class `exports[name]` with a stand-in: `new` (also of a subclass) makes a real
   * instance, from `args` rewritten by `rewriteArgs` when given, and returns `instrument(instance)`.
   * Static members, `prototype` and `instanceof` are the original's.
   */
  protected patchClass(
    moduleExports: unknown,
    name: string,
    instrument: (instance: object, original: { prototype: Record<string, unknown> }) => object,
    rewriteArgs?: (args: unknown[]) => unknown[],
  ): unknown {
    const self = this;
    return this.patchExport(
      moduleExports,
      name,
      (original: new (...args: unknown[]) => object) =>
        new Proxy(original, {
          construct(target, args, newTarget) {
            const enabled = self.isEnabled();
            let actual = args;
            if (enabled && rewriteArgs) {
              try {
                actual = rewriteArgs(args);
              } catch {
                actual = args;
              }
            }
            const instance = Reflect.construct(target, actual, newTarget) as object;
            if (!enabled) return instance;
            try {
              return instrument(instance, target as unknown as { prototype: Record<string, unknown> });
            } catch {
              return instance;
            }
          },
        }),
    );
  }

  /** Restores what `patchExport` replaced on these exports. */
  protected unpatchExports(moduleExports: unknown): void {
    const targets = new Set(exportTargets(moduleExports));
    this.#patches = this.#patches.filter((patch) => {
      if (!targets.has(patch.target)) return true;
      try {
        patch.target[patch.name] = patch.original;
      } catch {
        // a frozen namespace keeps the patched function; wrappers stay idempotent
      }
      return false;
    });
  }

  /**
   * True when OpenTelemetry contrib's instrumentation of the same client has wrapped `method`:
   * hoptrace then steps aside, so each message gets one producer and one consumer span, not two.
   */
  protected contribActive(method: unknown, contribPackage: string): boolean {
    if (typeof method !== 'function' || !isWrapped(method)) return false;
    this.warnOnce(
      'contrib',
      `${contribPackage} is active: hoptrace leaves this client to it (one span per message, not two). ` +
        `To get hoptrace's headers, spans and metrics, disable it: getNodeAutoInstrumentations({ '${contribPackage}': { enabled: false } })`,
    );
    return true;
  }

  protected warnOnce(key: string, message: string): void {
    guardFor(`auto/${this.instrumentationName}`).warnOnce(key, message);
  }
}

/** The objects whose properties a patch must change: CommonJS exports, or an ESM namespace and its default. */
function exportTargets(moduleExports: unknown): Record<PropertyKey, unknown>[] {
  const kind = typeof moduleExports;
  if (moduleExports === null || (kind !== 'object' && kind !== 'function')) return [];
  const exports = moduleExports as Record<PropertyKey, unknown>;
  if (exports[Symbol.toStringTag] !== 'Module') return [exports];
  const targets = [exports];
  const fallback = exports.default;
  if (fallback !== null && (typeof fallback === 'object' || typeof fallback === 'function')) {
    targets.push(fallback as Record<PropertyKey, unknown>);
  }
  return targets;
}

let clientLoadListener: (() => void) | undefined;

/**
 * Called once, the first time an instrumented client module is loaded: `hoptrace/register` sets up
 * tracing then (not at startup), so an SDK the application registered first is joined, and a process
 * that loads no client pays nothing.
 */
export function onFirstClientLoad(listener: () => void): void {
  clientLoadListener = listener;
}

/** Transports call this from their patch functions. */
export function clientLoaded(): void {
  const listener = clientLoadListener;
  clientLoadListener = undefined;
  if (listener) guardFor('register').do('client-loaded', listener);
}

function assign(target: Record<PropertyKey, unknown>, name: PropertyKey, value: unknown): boolean {
  try {
    target[name] = value;
    return target[name] === value;
  } catch {
    return false;
  }
}

/** A copy of CommonJS exports that reads every property through to them, except `name`, set to `value`. */
function withExport(
  exports: Record<PropertyKey, unknown>,
  name: string,
  value: unknown,
): Record<PropertyKey, unknown> {
  const copy: Record<PropertyKey, unknown> = {};
  for (const key of Reflect.ownKeys(exports)) {
    if (key === name) continue;
    const descriptor = Object.getOwnPropertyDescriptor(exports, key);
    Object.defineProperty(copy, key, {
      enumerable: descriptor?.enumerable ?? true,
      configurable: true,
      get: () => exports[key],
    });
  }
  Object.defineProperty(copy, name, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}
