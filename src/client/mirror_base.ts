/**
 * The reactive core every mirror shares: an immutable snapshot per change,
 * `subscribe` in the shape of a Svelte store and of React's
 * `useSyncExternalStore`, one notification per change however many frames
 * it took (frames marked `more` are followed by more frames of the same
 * change), and the optimistic changes of pending calls laid over the state
 * the other side sent.
 *
 * @module
 */
import type { SockSyncError } from "../errors.ts";
import { Listeners } from "../listeners.ts";
import { encodeMirrorUnsubscribe, encodeSubscribe } from "../protocol/encode.ts";
import type { Params } from "../protocol/params.ts";
import { mirrorKey } from "../protocol/mirror_keys.ts";
import type { MirrorFrame } from "../protocol/schemas.ts";

/**
 * A change laid over a mirror's snapshot while the call that carries it is
 * pending: it gets the snapshot so far and returns the one to show.
 */
export type Overlay<S> = (snapshot: S) => S;

/**
 * Where a mirror stands: `loading` until the first value or page arrives,
 * `ready` once it did, `error` while the last thing the other side said
 * about it was an error (then `error` tells which).
 */
export type MirrorStatus = "loading" | "ready" | "error";

/**
 * What every mirror's snapshot has.
 *
 * @internal
 */
export interface MirrorState {
  /** Whether the first answer has arrived. */
  readonly ready: boolean;
  /** See {@linkcode MirrorStatus}. */
  readonly status: MirrorStatus;
  /** The last error the other side sent, until the next change. */
  readonly error?: SockSyncError;
}

/**
 * What var, list and item mirrors share: a name, readiness, the last error,
 * the snapshot and its subscribers.
 *
 * @internal
 */
export abstract class MirrorBase<S extends MirrorState> {
  /** The group's name on the wire. */
  readonly name: string;
  /** Whether the first value or page has arrived since the last subscribe. */
  ready = false;
  /**
   * The last error the other side sent about this mirror (an unknown name, a
   * refused subscribe, an invalid page size, …); cleared by the next change.
   */
  error: SockSyncError | undefined = undefined;
  #snapshot: S | undefined;
  // Typed loosely so that a mirror of a narrower type is a mirror of `unknown`.
  readonly #subscribers = new Listeners<[unknown]>();
  readonly #changeListeners = new Listeners<[]>();
  // What optimistic changes lay over the snapshot (see `layer`), if any. Typed loosely, as the
  // subscribers: a mirror of a narrower type is a mirror of `unknown`.
  #layer: Overlay<never> | undefined;
  #midChange = false;

  /** @param name the group's name on the wire */
  constructor(name: string) {
    this.name = name;
  }

  /** `error` while an error stands, else `ready` once an answer arrived, else `loading`. */
  get status(): MirrorStatus {
    return this.error ? "error" : this.ready ? "ready" : "loading";
  }

  /** The protocol type of the group. */
  abstract readonly type: "var" | "list";

  /**
   * What tells this mirror apart from the others of its side: its type and
   * name (and a view's params); an item's is its own.
   */
  get key(): string {
    return mirrorKey(this.type, this.name, (this as { params?: Params }).params);
  }

  /** The encoded `subscribe` frame for this mirror: a var's, or an item's with its id. */
  subscribeFrame(): string {
    return encodeSubscribe(this.type, this.name, { id: (this as { id?: string }).id });
  }

  /**
   * The encoded `unsubscribe` frame for this mirror: a view's with its params,
   * an item's with its id.
   */
  unsubscribeFrame(): string {
    return encodeMirrorUnsubscribe(this.type, this.name, this as { id?: string; params?: Params });
  }

  /** Changes the state after one frame; throws a `SockSyncError` when it does not fit. */
  protected abstract update(frame: MirrorFrame): void;

  /**
   * What this kind of mirror's snapshot adds to `ready`, `status` and `error`,
   * from the state the other side sent (before overlays).
   */
  protected abstract base(): Omit<S, keyof MirrorState>;

  /**
   * The current snapshot: the same object until something changes, so it
   * can be React's `getSnapshot`. Bound: it may be passed around alone.
   */
  readonly getSnapshot = (): S => this.#snapshot ??= this.#build();

  /**
   * Calls `listener` at once with the current snapshot and then with every
   * new one, once per change; returns the function that stops it (the
   * Svelte store contract, and React's `useSyncExternalStore` subscribe).
   * Bound: it may be passed around alone.
   */
  readonly subscribe = (listener: (snapshot: S) => void): () => void => {
    // `Listeners` wraps each: the same function subscribed twice is two subscriptions.
    const off = this.#subscribers.add(listener as (snapshot: unknown) => void);
    listener(this.getSnapshot());
    return off;
  };

  /** Calls `listener` after every change; returns the function that removes it. */
  onChange(listener: () => void): () => void {
    return this.#changeListeners.add(listener);
  }

  /**
   * Applies one frame from the other side; throws a `SockSyncError` when it
   * does not fit. Listeners hear of it once the change is whole: after a
   * frame without `more`.
   */
  apply(frame: MirrorFrame): void {
    const more = (frame as { more?: boolean }).more === true;
    // Whoever reads the snapshot in the middle of a change sees it as it was before.
    if (more && !this.#midChange) this.getSnapshot();
    this.update(frame);
    this.ready = true;
    this.error = undefined;
    this.#midChange = more;
    if (!more) this.#publish();
  }

  /**
   * Records an error the other side sent about this mirror and tells every
   * listener (`ready` is unchanged: the last value, if any, still stands).
   */
  fail(error: SockSyncError): void {
    this.error = error;
    this.#publish();
  }

  /**
   * Shows `overlay` over the state (the optimistic changes of pending calls,
   * src/client/optimistic.ts), or, with `undefined`, what the other side
   * sent meanwhile. While one is shown, frames from the other side change
   * the state but not the snapshot, so the real change replaces the
   * optimistic one in one step.
   *
   * @internal
   */
  layer(overlay: Overlay<S> | undefined): void {
    this.#layer = overlay as unknown as Overlay<never> | undefined;
    this.#snapshot = overlay ? this.#build() : undefined;
    this.#notify();
  }

  #publish(): void {
    if (this.#layer) return;
    this.#snapshot = undefined;
    this.#notify();
  }

  #build(): S {
    // The fields every mirror's snapshot has follow its own (`error` only while one stands).
    const snapshot = {
      ...this.base(),
      ready: this.ready,
      status: this.status,
      ...this.error && { error: this.error },
    } as S;
    return Object.freeze(this.#layer ? (this.#layer as unknown as Overlay<S>)(snapshot) : snapshot);
  }

  #notify(): void {
    this.#changeListeners.emit();
    if (this.#subscribers.size > 0) this.#subscribers.emit(this.getSnapshot());
  }
}
