/**
 * Store operation timing: a hub with metrics hands its lists and vars a
 * view of each store that times every read and write into
 * `socksync_store_operation_duration_seconds{store,operation}`, so stores
 * need no code of their own for it.
 *
 * @module
 */
import type { Metrics } from "../peer/metrics.ts";

// The contract's reads and writes (ListSource, VarStore); feeds and close are not timed.
const TIMED = new Set(["get", "set", "update", "count", "page", "indexOf", "insert", "delete"]);

/**
 * `store` as it is, but with its reads and writes timed into `metrics`. The
 * `store` label is the store's class name (a bounded set), the `operation`
 * label the method's name. Every other member is the store's own (bound to
 * it, so private fields keep working).
 */
export function timedStore<S extends object>(store: S, metrics: Metrics): S {
  const label = store.constructor?.name || "store";
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      let done = wrapped.get(key);
      if (done === undefined || (done as { of?: unknown }).of !== value) {
        done = TIMED.has(key as string)
          ? timed(value as (...args: unknown[]) => unknown, target, label, String(key), metrics)
          : value.bind(target);
        (done as { of?: unknown }).of = value;
        wrapped.set(key, done);
      }
      return done;
    },
  });
}

function timed(
  method: (...args: unknown[]) => unknown,
  target: object,
  store: string,
  operation: string,
  metrics: Metrics,
): (...args: unknown[]) => unknown {
  return (...args: unknown[]) => {
    const start = performance.now();
    const record = () =>
      metrics.storeOperation(store, operation, (performance.now() - start) / 1000);
    const result = method.apply(target, args);
    if (result instanceof Promise) {
      result.then(record, record);
      return result;
    }
    record();
    return result;
  };
}
