/**
 * A hold on a list that others share: reads and writes go to the list, and
 * `close` drops only the listeners added through this hold (the list and
 * everyone else's listeners stay).
 *
 * @module
 */
import type { ListListener, ListSource } from "../../src/store.ts";

/**
 * Wraps `list` so that `close` drops only the listeners added through the
 * wrapper, then calls `onClose` once.
 */
export function listHandle<T>(list: ListSource<T>, onClose?: () => void): ListSource<T> {
  const removers = new Set<() => void>();
  let closed = false;
  return {
    count: () => list.count(),
    page: (offset, limit) => list.page(offset, limit),
    get: (id) => list.get(id),
    indexOf: (id) => list.indexOf(id),
    insert: (index, value, id) => list.insert(index, value, id),
    set: (id, value) => list.set(id, value),
    delete: (id) => list.delete(id),
    subscribe(listener: ListListener<T>) {
      const remove = list.subscribe(listener);
      const once = () => {
        if (removers.delete(once)) remove();
      };
      removers.add(once);
      return once;
    },
    close() {
      for (const remove of [...removers]) remove();
      if (!closed) {
        closed = true;
        onClose?.();
      }
      return Promise.resolve();
    },
  };
}
