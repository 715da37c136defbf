/**
 * Presence shared by several processes on one store, kept honest by leases
 * (the backend-neutral half; `stores/redis/presence.ts` and
 * `stores/postgres/presence.ts` give the storage).
 *
 * Each process holds a lease it renews every `renewMs` for `leaseMs`, by the
 * store's clock. Its members are items of the scope lists whose ids start
 * with the lease, and an index records which (scope, id) each lease owns.
 * Every process, once per `renewMs`, claims the leases that ran out and
 * deletes their members (through the lists, so every instance's views get
 * the changes). A process whose own lease ran out (it stalled, or the store
 * was unreachable) takes a new one and moves its members to it: their old
 * items are swept like any dead process's, so nothing stays listed twice.
 *
 * A member joined with a client's session (the same on each of its
 * connections) is recorded with it; when that client comes back on another
 * process, that process takes the record over (moves it to its own lease)
 * and the item stays where it was, with its id: the old process's leave and
 * the sweep of its lease no longer see it. A record moves only while its
 * lease is unclaimed, and a leave removes an item only if it still owned the
 * record, so exactly one of a takeover, a leave and a sweep gets each item.
 *
 * @module
 */
import { ErrorCode, isSockSyncError, SockSyncError } from "../../src/errors.ts";
import type { ListSource, PresenceStore } from "../../src/store.ts";
import { KeyedQueue } from "./keyed_queue.ts";
import { listHandle } from "./list_handle.ts";

/**
 * The storage a {@linkcode LeasedPresence} needs; every time is the store's.
 */
export interface LeaseBackend {
  /** The shared list of a scope (the store's one object for it). */
  list(scope: string): ListSource<unknown>;
  /**
   * Extends `lease` to `ttlMs` from now; with `create`, makes it first. False
   * when it ran out or was claimed (without `create`).
   */
  renew(lease: string, ttlMs: number, create: boolean): Promise<boolean>;
  /** Leases that ran out (a few at a time). */
  expired(): Promise<string[]>;
  /**
   * Takes a lease that ran out, for `retryMs` (then another process may take
   * it again); resolves what it owns, or `undefined` when it is live or taken.
   */
  claim(lease: string, retryMs: number): Promise<[string, string][] | undefined>;
  /**
   * Records that `lease` owns item `id` of `scope` (joined with `session`,
   * if any); false when the lease is no longer live.
   */
  own(lease: string, scope: string, id: string, session?: string): Promise<boolean>;
  /**
   * Moves to `lease` (live) the record of the member of `scope` joined with
   * `session` under another lease that was not claimed; resolves its item
   * id, or `undefined` when there is none to take.
   */
  take(lease: string, scope: string, session: string): Promise<string | undefined>;
  /** Forgets that record; false when `lease` no longer had it (taken over or swept). */
  disown(lease: string, scope: string, id: string): Promise<boolean>;
  /** Removes the lease and its records. */
  end(lease: string): Promise<void>;
}

/**
 * Lease timing of a {@linkcode LeasedPresence}.
 *
 * @example
 * ```ts
 * import type { LeaseOptions } from "./leased_presence.ts";
 * const quick: LeaseOptions = { leaseMs: 3000, renewMs: 500 };
 * ```
 */
export interface LeaseOptions {
  /** How long a lease lasts without renewal (default 5000 ms). */
  leaseMs?: number;
  /** How often a process renews its lease and sweeps the others' (default 1000 ms). */
  renewMs?: number;
  /** Told about failures of the renewal and the sweep (they are retried). Default: logged once in a row. */
  onError?: (error: unknown) => void;
}

interface Held {
  id: string;
  lease: string;
  value: unknown;
  session?: string;
}

const randomLease = () => crypto.randomUUID().slice(0, 13).replace("-", "");

const ignoreUnknown = (error: unknown) => {
  if (!isSockSyncError(error) || error.code !== ErrorCode.InvalidId) throw error;
};

/**
 * A {@linkcode PresenceStore} over a {@linkcode LeaseBackend}: a killed
 * process's members are gone after at most `leaseMs + renewMs` plus one
 * sweep.
 */
export class LeasedPresence implements PresenceStore {
  readonly #backend: LeaseBackend;
  readonly #leaseMs: number;
  readonly #renewMs: number;
  readonly #onError: (error: unknown) => void;
  #lease = randomLease();
  #started: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #ticking = false;
  #closed = false;
  readonly #held = new Map<string, Map<string, Held>>();
  readonly #queue = new KeyedQueue();
  #lastError = "";

  /**
   * @param backend the store's storage of leases and lists
   * @param options lease timing
   */
  constructor(backend: LeaseBackend, options: LeaseOptions = {}) {
    this.#backend = backend;
    this.#leaseMs = options.leaseMs ?? 5000;
    this.#renewMs = options.renewMs ?? 1000;
    this.#onError = options.onError ?? ((error) => {
      const text = String(error instanceof Error ? error.message : error);
      if (text !== this.#lastError) console.error("socksync presence:", text);
      this.#lastError = text;
    });
  }

  /** The lease this process holds now. */
  get lease(): string {
    return this.#lease;
  }

  /** Takes the lease and starts renewing it (once). */
  #start(): Promise<void> {
    if (this.#closed) return Promise.reject(new SockSyncError(ErrorCode.Other, "store closed"));
    return this.#started ??= this.#backend.renew(this.#lease, this.#leaseMs, true).then(() => {
      this.#timer = setInterval(() => void this.#tick(), this.#renewMs);
    }, (error) => {
      this.#started = undefined;
      throw error;
    });
  }

  /** The members of a scope; `close` drops this hold's listeners only. */
  members<T = unknown>(scope: string): ListSource<T> {
    return listHandle(this.#backend.list(scope) as ListSource<T>);
  }

  #chain<R>(scope: string, key: string, task: () => Promise<R>): Promise<R> {
    return this.#queue.run(JSON.stringify([scope, key]), task);
  }

  /**
   * Adds member `key` at the end of the scope (or sets its value); with
   * `session`, takes over that session's member there first, if another
   * process (or an earlier lease) holds one. Resolves its item id.
   */
  join(scope: string, key: string, value: unknown, session?: string): Promise<string> {
    return this.#chain(scope, key, async () => {
      await this.#start();
      const held = this.#held.get(scope)?.get(key);
      if (held) {
        held.value = value;
        await this.#backend.list(scope).set(held.id, value).catch(ignoreUnknown);
        return held.id;
      }
      let scopeHeld = this.#held.get(scope);
      if (!scopeHeld) this.#held.set(scope, scopeHeld = new Map());
      const entry: Held = { id: "", lease: "", value, session };
      scopeHeld.set(key, entry);
      try {
        if (!(await this.#takeOver(scope, entry))) await this.#place(scope, key, entry);
      } catch (error) {
        scopeHeld.delete(key);
        if (scopeHeld.size === 0) this.#held.delete(scope);
        throw error;
      }
      return entry.id;
    });
  }

  /** Takes over `entry.session`'s member of the scope, in its place; false when there is none. */
  async #takeOver(scope: string, entry: Held): Promise<boolean> {
    if (entry.session === undefined) return false;
    const lease = this.#lease;
    const id = await this.#backend.take(lease, scope, entry.session);
    if (id === undefined) return false;
    try {
      await this.#backend.list(scope).set(id, entry.value);
    } catch (error) {
      // Its item went (deleted with no record left behind): give the record back, join anew.
      await this.#backend.disown(lease, scope, id);
      ignoreUnknown(error);
      return false;
    }
    entry.id = id;
    entry.lease = lease;
    return true;
  }

  /** Records and appends an item for `entry` under the current lease. */
  async #place(scope: string, key: string, entry: Held): Promise<void> {
    for (let attempt = 0;; attempt++) {
      const lease = this.#lease;
      const id = `${lease}.${key}`;
      if (await this.#backend.own(lease, scope, id, entry.session)) {
        entry.id = id;
        entry.lease = lease;
        break;
      }
      // The lease ran out under us: take a new one (once), then own under it.
      if (attempt > 2) throw new SockSyncError(ErrorCode.Other, "presence lease lost");
      if (lease === this.#lease) await this.#renewLease();
    }
    await appendTo(this.#backend.list(scope), entry.id, entry.value);
  }

  /** Replaces a member's value; unknown → code 4. */
  set(scope: string, key: string, value: unknown): Promise<void> {
    return this.#chain(scope, key, async () => {
      const held = this.#held.get(scope)?.get(key);
      if (!held) throw new SockSyncError(ErrorCode.InvalidId, `unknown member ${key}`);
      held.value = value;
      await this.#backend.list(scope).set(held.id, value).catch(ignoreUnknown);
    });
  }

  /** Removes a member (a no-op when absent). */
  leave(scope: string, key: string): Promise<void> {
    return this.#chain(scope, key, async () => {
      const scopeHeld = this.#held.get(scope);
      const held = scopeHeld?.get(key);
      if (!scopeHeld || !held) return;
      scopeHeld.delete(key);
      if (scopeHeld.size === 0) this.#held.delete(scope);
      // Taken over by the session's next connection (elsewhere) or swept: not ours to delete.
      if (!(await this.#backend.disown(held.lease, scope, held.id))) return;
      await this.#backend.list(scope).delete(held.id).catch(ignoreUnknown);
    });
  }

  /** Renews the lease, moves members to a new one if it ran out, sweeps dead leases. */
  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      if (!(await this.#backend.renew(this.#lease, this.#leaseMs, false))) {
        await this.#renewLease();
      }
      await this.sweep();
    } catch (error) {
      this.#onError(error);
    } finally {
      this.#ticking = false;
    }
  }

  /** Takes a new lease and moves every member held to it. */
  async #renewLease(): Promise<void> {
    const lease = randomLease();
    await this.#backend.renew(lease, this.#leaseMs, true);
    this.#lease = lease;
    const moves: Promise<unknown>[] = [];
    for (const [scope, scopeHeld] of this.#held) {
      for (const [key, entry] of scopeHeld) {
        if (entry.lease === lease) continue;
        moves.push(
          this.#chain(scope, key, async () => {
            if (this.#held.get(scope)?.get(key) !== entry || entry.lease === this.#lease) return;
            const old = { id: entry.id, lease: entry.lease };
            await this.#place(scope, key, entry);
            if (await this.#backend.disown(old.lease, scope, old.id)) {
              await this.#backend.list(scope).delete(old.id).catch(ignoreUnknown);
            }
          }).catch(this.#onError),
        );
      }
    }
    await Promise.all(moves);
  }

  /**
   * Claims every lease that ran out and deletes its members; resolves how
   * many it deleted. Runs every `renewMs` on its own.
   */
  async sweep(): Promise<number> {
    let deleted = 0;
    for (const lease of await this.#backend.expired()) {
      const owned = await this.#backend.claim(lease, this.#leaseMs * 6);
      if (!owned) continue;
      for (const [scope, id] of owned) {
        await this.#backend.list(scope).delete(id).then(() => deleted++, ignoreUnknown);
      }
      await this.#backend.end(lease);
    }
    return deleted;
  }

  /** Removes every member of this process and ends its lease. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    if (!this.#started) return;
    await this.#queue.settled();
    const leases = new Set([this.#lease]);
    for (const [scope, scopeHeld] of this.#held) {
      for (const entry of scopeHeld.values()) {
        leases.add(entry.lease);
        // A member another process took over stays listed there.
        if (await this.#backend.disown(entry.lease, scope, entry.id)) {
          await this.#backend.list(scope).delete(entry.id).catch(ignoreUnknown);
        }
      }
    }
    this.#held.clear();
    for (const lease of leases) await this.#backend.end(lease);
  }
}

/** Appends at the end: the index read may be stale by the time it lands (then again). */
async function appendTo(list: ListSource<unknown>, id: string, value: unknown): Promise<void> {
  for (let attempt = 0;; attempt++) {
    try {
      await list.insert(await list.count(), value, id);
      return;
    } catch (error) {
      const outOfRange = isSockSyncError(error) && error.code === ErrorCode.InvalidArguments &&
        /out of range/.test(error.message);
      if (!outOfRange || attempt > 20) throw error;
    }
  }
}
