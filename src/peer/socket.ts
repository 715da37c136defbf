/**
 * The two small surfaces the core talks to: the Web-standard WebSocket as a
 * {@linkcode SocketLike}, and a {@linkcode Subscriber} that groups push
 * already-encoded frames to.
 *
 * @module
 */

/**
 * The part of the Web-standard `WebSocket` the core needs. Browser, Deno and
 * Bun sockets, `ws` sockets and Hono's `WSContext` all fit.
 *
 * @example
 * ```ts
 * import type { SocketLike } from "./socket.ts";
 * const sent: string[] = [];
 * const socket: SocketLike = {
 *   readyState: 1, bufferedAmount: 0,
 *   send: (text) => { sent.push(text); }, close: () => {},
 * };
 * ```
 */
export interface SocketLike {
  /** Sends one text frame. */
  send(data: string): void;
  /** Closes the connection. */
  close(code?: number, reason?: string): void;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes queued but not yet sent, where the runtime reports it. */
  readonly bufferedAmount?: number;
}

/**
 * Whoever receives pushed frames: groups encode a change once and hand the
 * same text to every subscriber.
 *
 * @example
 * ```ts
 * import type { Subscriber } from "./socket.ts";
 * const log: Subscriber = { sendText: (text) => console.log(text) };
 * ```
 */
export interface Subscriber {
  /** Sends one already-encoded frame. */
  sendText(text: string): void;
  /**
   * Whether this subscriber asked for change markers (`"more": true` on a
   * list `subscribe` or `get`): then every frame of a change but the last
   * carries `"more": true`. Peers that never ask get the original frames.
   */
  marksChanges?: boolean;
}

/**
 * A runtime's own one-to-many send (Bun's topics): one call hands the same
 * frame to every socket subscribed to a topic, without a JavaScript loop.
 * Sockets that offer it carry it as {@linkcode GroupSocket.topics}.
 */
export interface Topics {
  /**
   * Sends `text` to every socket subscribed to `topic`. `false` when some of
   * them are backed up (their frames queue in the runtime).
   */
  publish(topic: string, text: string): boolean;
  /**
   * Sends several frames, in order, to every socket subscribed to `topic`,
   * where the runtime can hand them to each socket in one write; answers
   * like {@linkcode publish}. Without it, each frame is published in turn.
   */
  publishAll?(topic: string, texts: readonly string[]): boolean;
  /**
   * Queued bytes past which a socket counts as backed up (default 0): after
   * a `publish` that answered `false`, such sockets leave the group's topic.
   */
  readonly backedUpBytes?: number;
  /**
   * Set when `publish` cannot say that a socket backed up (Bun answers for
   * the whole call, and a client merely a little behind looks the same): the
   * group then reads each member's queue itself whenever this many
   * characters went out through these topics (any group's) since it last
   * looked, so no member gets further behind than that unseen.
   */
  readonly checkEvery?: number;
  /**
   * Set when every socket of these topics carries {@linkcode TopicLinks}: a
   * topic group then links its first members through their sockets instead
   * of keeping them in a `Set` (a server keeps many idle connections).
   */
  readonly linked?: boolean;
}

/**
 * The fields through which one topic group (the socket's first) links its
 * members, on a socket whose {@linkcode Topics.linked} is set. The group's
 * own code (src/server/fanout/topic_group.ts) keeps them.
 */
export interface TopicLinks {
  /** The group whose list this socket's subscriber is in, if any. */
  topicOwner: object | undefined;
  /** The subscriber before it in that list. */
  topicPrev: Subscriber | undefined;
  /** The subscriber after it in that list. */
  topicNext: Subscriber | undefined;
}

/**
 * A {@linkcode SocketLike} that can join the runtime's topics.
 */
export interface GroupSocket extends SocketLike {
  /** The runtime's topics this socket can join (the same object for every socket of a server). */
  readonly topics: Topics;
  /** Joins `topic`. */
  subscribe(topic: string): void;
  /** Leaves `topic`. */
  unsubscribe(topic: string): void;
}

/**
 * The queued bytes of a socket, 0 where the runtime does not report them.
 */
export function queuedBytes(socket: SocketLike): number {
  const amount = socket.bufferedAmount;
  // Number.isFinite is false for anything but a finite number (it does not convert).
  return Number.isFinite(amount) ? amount as number : 0;
}
