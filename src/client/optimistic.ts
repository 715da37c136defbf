/**
 * Optimistic calls: a call may carry a local change that the affected
 * mirrors show at once, laid over what the other side sent. It is dropped
 * when the call settles: on `return` the mirrors show the server's real
 * frames (which a handler that awaits its change sends before its return),
 * on `error` what they showed before, the change rolled back. A client
 * carries this code only when given {@linkcode optimisticCalls}.
 *
 * @module
 */
import { nanoid } from "nanoid";
import type { ApiShape, ItemOf, ListName, UntypedApi, VarName } from "../protocol/api.ts";
import type { ItemSnapshot } from "./item_mirror.ts";
import { countPages, type ListSnapshot, type SnapshotItem, type VarSnapshot } from "./mirror.ts";
import type { Overlay } from "./mirror_base.ts";
import { itemKey } from "../protocol/mirror_keys.ts";

/**
 * What the `optimistic` option of a call gets: the changes to show while
 * the call is pending. Each names a var or list as the server does; every
 * mirror of it (list views on any page, item mirrors of the id) shows it.
 *
 * @example
 * ```ts
 * import type { OptimisticChange } from "./optimistic.ts";
 * const addMilk = (change: OptimisticChange) => {
 *   change.insert("todos", { value: { text: "milk", done: false } });
 *   change.set("counter", (n) => (n as number) + 1);
 * };
 * ```
 */
export interface OptimisticChange<A extends ApiShape = UntypedApi> {
  /** Shows the value `fn` makes of a var's current one. */
  set<N extends VarName<A>>(
    name: N,
    fn: (current: A["vars"][N] | undefined) => A["vars"][N],
  ): void;
  /** Shows a var's new value. */
  set<N extends VarName<A>>(name: N, value: A["vars"][N]): void;
  /**
   * Shows an item inserted at `index` of the whole list (default 0, the top;
   * past the end means the end); returns its id (default: a fresh one).
   * An item with that id that the other side already sent is left alone.
   */
  insert<N extends ListName<A>>(
    list: N,
    item: { value: ItemOf<A, N>; id?: string; index?: number },
  ): string;
  /** Shows the value `fn` makes of an item's current one. */
  update<N extends ListName<A>>(
    list: N,
    id: string,
    fn: (current: ItemOf<A, N>) => ItemOf<A, N>,
  ): void;
  /** Shows an item's new value. */
  update<N extends ListName<A>>(list: N, id: string, value: ItemOf<A, N>): void;
  /** Shows the list without an item. */
  remove<N extends ListName<A>>(list: N, id: string): void;
}

/**
 * A mirror as an optimistic change uses it.
 */
export interface Target<S> {
  /** Shows an overlay over what the other side sent (`undefined`: none). */
  layer(overlay: Overlay<S> | undefined): void;
}

/**
 * What a client's `optimisticCalls` option takes (see
 * {@linkcode optimisticCalls}): the code that shows optimistic changes, which
 * a client without it does not carry.
 *
 * @example
 * ```ts
 * import { connect } from "./client.ts";
 * import { optimisticCalls } from "./optimistic.ts";
 * const client = connect("ws://127.0.0.1:8080/ws/socksync", { optimisticCalls });
 * ```
 */
export interface OptimisticCalls {
  /**
   * Shows a call's `optimistic` change on the mirrors it names, found among
   * the client's (by key, or all of them for a list's views), with one
   * notification per mirror; returns the function that drops it.
   */
  show(
    mirrors: {
      get(key: string): unknown;
      values(): Iterable<{ readonly key: string; readonly name: string }>;
    },
    fill: (change: OptimisticChange) => void,
  ): () => void;
}

/** The mirrors of a client as an optimistic change finds them. */
type OptimisticMirrors = Parameters<OptimisticCalls["show"]>[0];

/**
 * Optimistic calls, for a client that makes them: `connect(url, {
 * optimisticCalls })` lets its calls take an `optimistic` change (see
 * `ClientCallOptions.optimistic`). A client without it carries none of this
 * code, and rejects such a call with a `TypeError` before sending it.
 *
 * @example
 * ```ts
 * import { connect } from "./client.ts";
 * import { optimisticCalls } from "./optimistic.ts";
 * const client = connect("ws://127.0.0.1:8080/ws/socksync", { optimisticCalls });
 * await client.call("add_todo", { text: "milk" }, {
 *   optimistic: (change) => void change.insert("todos", { value: { text: "milk", done: false } }),
 * });
 * ```
 */
export const optimisticCalls: OptimisticCalls = { show: showOptimistic };

/**
 * Runs a call's `optimistic` option: every mirror it names shows its change
 * at once (one notification per mirror); returns the function that drops it.
 */
function showOptimistic(
  mirrors: OptimisticMirrors,
  fill: (change: OptimisticChange) => void,
): () => void {
  const targets = targetsOf(mirrors);
  // deno-lint-ignore no-explicit-any
  const steps = new Map<Target<any>, Overlay<any>[]>();
  const add = <S>(target: Target<S> | undefined, step: Overlay<S>) => {
    if (!target) return;
    const list = steps.get(target);
    if (list) list.push(step);
    else steps.set(target, [step]);
  };
  const change: OptimisticChange<UntypedApi> = {
    set(name: string, value: unknown) {
      for (const mirror of targets.vars(name)) {
        add(mirror, (s) => ({ ...s, value: typeof value === "function" ? value(s.value) : value }));
      }
    },
    insert(list, item) {
      const id = item.id ?? `optimistic-${nanoid()}`;
      const fresh: SnapshotItem<unknown> = { id, value: item.value, pending: true };
      for (const view of targets.views(list)) {
        add(view, (s) => insertInto(s, fresh, item.index ?? 0));
      }
      add(targets.item(list, id), (s) => ({ ...s, value: item.value, exists: true }));
      return id;
    },
    update(list: string, id: string, value: unknown) {
      const next = (current: unknown) => typeof value === "function" ? value(current) : value;
      for (const view of targets.views(list)) {
        add(view, (s) => {
          if (!s.items.some((item) => item.id === id)) return s;
          const items = s.items.map((item) =>
            item.id === id ? { id, value: next(item.value), pending: true as const } : item
          );
          return { ...s, items: Object.freeze(items) };
        });
      }
      add(
        targets.item(list, id),
        (s) => (s.exists ? { ...s, value: next(s.value) } : s),
      );
    },
    remove(list, id) {
      for (const view of targets.views(list)) {
        add(view, (s) => {
          const total = Math.max(0, s.total - 1);
          const items = Object.freeze(s.items.filter((item) => item.id !== id));
          return { ...s, items, total, pageCount: countPages(total, s.pageSize) };
        });
      }
      add(targets.item(list, id), (s) => ({ ...s, value: undefined, exists: false }));
    },
  };
  fill(change);
  const token = {};
  for (const [target, list] of steps) {
    show(target, token, (s) => list.reduce((acc, step) => step(acc), s));
  }
  return () => {
    for (const target of steps.keys()) show(target, token, undefined);
  };
}

// The overlays each mirror shows, by the call that laid them, in the order laid.
// deno-lint-ignore no-explicit-any
const overlays = new WeakMap<Target<any>, Map<object, Overlay<any>>>();

/** Shows (or, with `undefined`, drops) a call's overlay on a mirror, over the other calls' ones. */
function show<S>(target: Target<S>, token: object, overlay: Overlay<S> | undefined): void {
  let shown = overlays.get(target);
  if (!shown) overlays.set(target, shown = new Map());
  if (overlay) shown.set(token, overlay);
  else if (!shown.delete(token)) return;
  const layers = [...shown.values()];
  target.layer(layers.length > 0 ? (s) => layers.reduce((acc, layer) => layer(acc), s) : undefined);
}

/** The mirrors an optimistic change can reach, found by what it names. */
function targetsOf(mirrors: OptimisticMirrors): {
  vars(name: string): Target<VarSnapshot<unknown>>[];
  views(name: string): Target<ListSnapshot<unknown>>[];
  item(list: string, id: string): Target<ItemSnapshot<unknown>> | undefined;
} {
  // deno-lint-ignore no-explicit-any
  const at = (key: string) => mirrors.get(key) as Target<any> | undefined;
  return {
    vars: (name) => {
      const mirror = at(`var:${name}`);
      return mirror ? [mirror] : [];
    },
    // Every view of the list, whatever its params.
    views: (name) =>
      // deno-lint-ignore no-explicit-any
      [...mirrors.values()].filter((m) => m.key.startsWith("list:") && m.name === name) as any[],
    item: (list, id) => at(itemKey(list, id)),
  };
}

/** A page with an item inserted at `index` of the whole list, still at most a page long. */
function insertInto<T>(
  s: ListSnapshot<T>,
  item: SnapshotItem<T>,
  index: number,
): ListSnapshot<T> {
  if (s.items.some((known) => known.id === item.id)) return s;
  const total = s.total + 1;
  const offset = s.page * s.pageSize;
  const at = Math.min(Math.max(index, 0), s.total) - offset;
  let items = s.items;
  // An item landing before this page pushes an item we do not have into it: only the total shows.
  if (at >= 0 && at <= items.length && (s.pageSize === 0 || at < s.pageSize)) {
    const next = [...items];
    next.splice(at, 0, item);
    if (s.pageSize > 0 && next.length > s.pageSize) next.pop();
    items = Object.freeze(next);
  }
  return { ...s, items, total, pageCount: countPages(total, s.pageSize) };
}
