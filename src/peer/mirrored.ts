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
 * @internal
 */
export interface MirroredVar extends Mirrored {
  /** Always `"var"`. */
  readonly type: "var";
}

/**
 * A list view's mirror: the page it shows, asked for again on a refresh.
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
 */
export type ConsumerMirror = MirroredVar | MirroredList | MirroredItem;
