/**
 * A transparent stand-in for an amqplib object. Every property read goes to the original object;
 * methods run with the original as `this` (so amqplib's own internal calls, like `sendToQueue` calling
 * `this.publish`, never reach the instrumented versions twice), and a method that returns the original
 * (`on`, the callback API's chaining) returns the stand-in instead. `instanceof`, `Object.keys`, property
 * writes and events all reach the original. Only the methods `makeOverrides` returns differ; it gets
 * the stand-in so overrides can return it where amqplib returns the original.
 */
// biome-ignore lint/suspicious/noExplicitAny: amqplib methods take and return anything.
export type AnyFunction = (...args: any[]) => any;

/** Marks a stand-in and gives back its state; never visible on the original. */
export const WRAPPED = Symbol('hoptrace.amqp.wrapped');

export function createPassThrough<T extends object, S>(
  target: T,
  state: S,
  makeOverrides: (proxy: T) => Readonly<Record<string, AnyFunction>>,
): T {
  let overrides: Readonly<Record<string, AnyFunction>> = {};
  const bound = new Map<PropertyKey, { original: AnyFunction; wrapper: AnyFunction }>();
  const proxy: T = new Proxy(target, {
    get(obj, prop) {
      if (prop === WRAPPED) return state;
      if (typeof prop === 'string' && Object.hasOwn(overrides, prop)) return overrides[prop];
      const value: unknown = Reflect.get(obj, prop, obj);
      // Classes (`constructor`) stay as they are; methods are bound to the original.
      if (typeof value !== 'function' || prop === 'constructor') return value;
      const original = value as AnyFunction;
      const cached = bound.get(prop);
      if (cached && cached.original === original) return cached.wrapper;
      const wrapper: AnyFunction = function passThrough(...args) {
        const result = original.apply(obj, args);
        return result === obj ? proxy : result;
      };
      bound.set(prop, { original, wrapper });
      return wrapper;
    },
  });
  overrides = makeOverrides(proxy);
  return proxy;
}

/** The state of a stand-in, or undefined for anything else. */
export function wrappedState<S>(value: unknown): S | undefined {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  try {
    return (value as { [WRAPPED]?: S })[WRAPPED];
  } catch {
    return undefined;
  }
}
