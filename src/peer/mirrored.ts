/**
 * What a connection needs from the mirrors its side keeps of what the other
 * side provides: the consumer subscribes them, feeds them frames and errors,
 * and asks for their value again through these and nothing else, so that one
 * connection knows no client class (the client's `VarMirror`, `ListMirror`
 * and `ItemMirror` fit them).
 *
 * @module
 */
import type { SockSyncError } from "../errors.ts";
import type { Params } from "../protocol/params.ts";
import type { MirrorFrame } from "../protocol/schemas.ts";

/**
 * What every mirror offers the consumer that feeds it.
 *
 * @example
 * ```ts
 * import type { Mirrored } from "./mirrored.ts";
 * const describe = (mirror: Mirrored) => `${mirror.key} ready: ${mirror.ready}`;
 * ```
 */
export interface Mirrored {
  /** The group's name on the wire. */
  readonly name: string;
  /** What tells this mirror apart from the others of its side (see `mirrorKey`, `itemKey`). */
  readonly key: string;
  /** Whether the first value or page has arrived since the last subscribe. */
  ready: boolean;
  /** The encoded `subscribe` frame for this mirror. */
  subscribeFrame(): string;
  /** The encoded `unsubscribe` frame for this mirror. */
  unsubscribeFrame(): string;
  /** Applies one frame from the other side; throws a `SockSyncError` when it does not fit. */
  apply(frame: MirrorFrame): void;
  /** Records an error the other side sent about this mirror. */
  fail(error: SockSyncError): void;
}

/**
 * A var's mirror.
 *
 * @example
 * ```ts
 * import type { MirroredVar } from "./mirrored.ts";
 * const isVar = (mirror: { type: string }): mirror is MirroredVar => mirror.type === "var";
 * ```
 *
 * @internal
 */
export interface MirroredVar extends Mirrored {
  /** Always `"var"`. */
  readonly type: "var";
}

/**
 * A list view's mirror: the page it shows, asked for again on a refresh.
 *
 * @example
 * ```ts
 * import type { MirroredList } from "./mirrored.ts";
 * const where = (view: MirroredList) => `${view.name} page ${view.page}`;
 * ```
 *
 * @internal
 */
export interface MirroredList extends Mirrored {
  /** Always `"list"`. */
  readonly type: "list";
  /** The current page. */
  readonly page: number;
  /** The page size asked for, if any. */
  readonly pageSize: number | undefined;
  /** The params of a view of a parameterized list, else `undefined`. */
  readonly params: Params | undefined;
}

/**
 * A list item's mirror.
 *
 * @example
 * ```ts
 * import type { MirroredItem } from "./mirrored.ts";
 * const where = (item: MirroredItem) => `${item.name}/${item.id}`;
 * ```
 *
 * @internal
 */
export interface MirroredItem extends Mirrored {
  /** Always `"list"`: an item is subscribed as part of its list. */
  readonly type: "list";
  /** The item's id. */
  readonly id: string;
}

/**
 * A mirror a consumer keeps fed: a var, a list view or a list item.
 *
 * @example
 * ```ts
 * import type { ConsumerMirror } from "./mirrored.ts";
 * const key = (mirror: ConsumerMirror) => mirror.key;
 * ```
 */
export type ConsumerMirror = MirroredVar | MirroredList | MirroredItem;
