/**
 * The channel that carries sign-outs between demo instances sharing a Redis
 * or PostgreSQL store: the hub's revocations (connections of a session
 * close with 4001 on every instance) and the ended sessions themselves (so
 * that every instance refuses their tokens).
 *
 * @module
 */
import type { VarStore } from "../src/store.ts";
import type { StoreConfig } from "./config.ts";
import type { DemoSession, Sessions } from "./session.ts";

/**
 * A channel between instances (see `openRedisChannel`, `openPostgresChannel`).
 *
 * @example
 * ```ts
 * import type { DemoChannel } from "./revocations.ts";
 * const shout = (channel: DemoChannel) => channel.publish("hello");
 * ```
 */
export interface DemoChannel {
  /** Sends a message to every instance. */
  publish(message: string): Promise<void>;
  /** Calls `listener` with every message; returns the remover. */
  subscribe(listener: (message: string) => void): () => void;
  /** Closes the channel. */
  close(): Promise<void>;
}

/**
 * Opens the channel of a shared store (Redis or PostgreSQL); `undefined`
 * for a store of one instance (memory, SQLite).
 *
 * @example
 * ```ts
 * import { openChannel } from "./revocations.ts";
 * console.log(await openChannel({ kind: "memory" })); // undefined
 * ```
 */
export async function openChannel(store: StoreConfig): Promise<DemoChannel | undefined> {
  if (store.kind === "redis") {
    const { openRedisChannel } = await import("../stores/redis/channel.ts");
    return await openRedisChannel({ url: store.url, channel: "socksync:demo:revocations" });
  }
  if (store.kind === "postgres") {
    const { openPostgresChannel } = await import("../stores/postgres/channel.ts");
    return await openPostgresChannel({ url: store.url, channel: "socksync_demo_revocations" });
  }
  return undefined;
}

/**
 * Makes every instance refuse the tokens of sessions ended on any of them;
 * returns the function that tells the others about a sign-out here.
 *
 * @example
 * ```ts
 * import { shareLogouts } from "./revocations.ts";
 * import { Sessions } from "./session.ts";
 * const publish = shareLogouts(undefined, await Sessions.create());
 * console.log(publish); // undefined: one instance
 * ```
 */
export function shareLogouts(
  channel: DemoChannel | undefined,
  sessions: Sessions,
): ((session: DemoSession) => Promise<void>) | undefined {
  if (!channel) return undefined;
  channel.subscribe((text) => {
    let message: { logout?: unknown; exp?: unknown };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message.logout === "string" && typeof message.exp === "number") {
      sessions.revoke(message.logout, message.exp);
    }
  });
  return (session) => channel.publish(JSON.stringify({ logout: session.sid, exp: session.exp }));
}

/** The store var holding the sessions signed out and not expired yet: `{ [sid]: exp }`. */
export const SIGNED_OUT_VAR = "demo_signed_out";

/**
 * Keeps sign-outs in the store, so that an instance started later (or this
 * one after a restart with the same `SOCKSYNC_SECRET`) refuses their tokens
 * too: loads the sessions signed out so far into `sessions`, and returns the
 * function that records one more (entries leave once their token would have
 * expired anyway).
 *
 * @example
 * ```ts
 * import { memoryStore } from "../stores/memory/mod.ts";
 * import { rememberLogouts } from "./revocations.ts";
 * import { Sessions } from "./session.ts";
 * const sessions = await Sessions.create();
 * const record = await rememberLogouts(memoryStore().vars, sessions);
 * const { session } = await sessions.issue("ada", 60);
 * await record(session);
 * ```
 */
export async function rememberLogouts(
  vars: VarStore,
  sessions: Sessions,
): Promise<(session: DemoSession) => Promise<void>> {
  for (const [sid, exp] of Object.entries(signedOut(await vars.get(SIGNED_OUT_VAR)))) {
    sessions.revoke(sid, exp);
  }
  return async (session) => {
    const add = (current: unknown) => {
      const now = Date.now();
      const next: Record<string, number> = {};
      for (const [sid, exp] of Object.entries(signedOut(current))) if (exp > now) next[sid] = exp;
      next[session.sid] = session.exp;
      return next;
    };
    if (vars.update) await vars.update(SIGNED_OUT_VAR, add);
    else await vars.set(SIGNED_OUT_VAR, add(await vars.get(SIGNED_OUT_VAR)));
  };
}

function signedOut(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [sid, exp] of Object.entries(value)) if (typeof exp === "number") out[sid] = exp;
  }
  return out;
}
