/**
 * A message channel between the instances of one application over
 * PostgreSQL's LISTEN/NOTIFY: what one instance publishes, every listening
 * instance receives within a few milliseconds. A hub uses one to carry
 * revocations (`new Hub({ revocations: await openPostgresChannel({ url }) })`).
 *
 * @module
 */
import { fitsPayload, openPgClient, pgError, quoteIdent } from "./driver.ts";

/**
 * Options of {@linkcode openPostgresChannel}.
 *
 * @example
 * ```ts
 * import type { PostgresChannelOptions } from "./channel.ts";
 * const options: PostgresChannelOptions = { url: "postgres://postgres@127.0.0.1:5432/test" };
 * ```
 */
export interface PostgresChannelOptions {
  /** `postgres://user[:password]@host:port/database`. */
  url: string;
  /** The NOTIFY channel (default `"socksync_revocations"`). */
  channel?: string;
}

/**
 * A channel between instances: publish to all, subscribe to what all publish
 * (this instance's own messages included).
 *
 * @example
 * ```ts
 * import type { PostgresChannel } from "./channel.ts";
 * const shout = (channel: PostgresChannel) => channel.publish("hello");
 * ```
 */
export interface PostgresChannel {
  /** Sends a message (under 8000 bytes) to every listening instance. */
  publish(message: string): Promise<void>;
  /** Calls `listener` with every message; returns the remover. */
  subscribe(listener: (message: string) => void): () => void;
  /** Closes both connections. */
  close(): Promise<void>;
}

/**
 * Opens a channel: one connection that LISTENs (again after it dropped) and
 * one that NOTIFYs. Rejects with a `SockSyncError` (code 8) when PostgreSQL
 * does not answer.
 *
 * @example
 * ```ts
 * import { openPostgresChannel } from "./channel.ts";
 * const channel = await openPostgresChannel({ url: "postgres://postgres@127.0.0.1:5432/test" });
 * const stop = channel.subscribe((message) => console.log(message));
 * await channel.publish("hello");
 * stop();
 * await channel.close();
 * ```
 */
export async function openPostgresChannel(
  options: PostgresChannelOptions,
): Promise<PostgresChannel> {
  const name = options.channel ?? "socksync_revocations";
  const listeners = new Set<(message: string) => void>();
  let closed = false;
  const common = { onnotice: () => {}, connection: { application_name: "socksync" } };
  const sql = await openPgClient(options.url, { ...common, max: 1 });
  const listener = await openPgClient(options.url, {
    ...common,
    max: 1,
    idle_timeout: null,
    max_lifetime: null,
    fetch_types: false,
    onnotify: (channel, message) => {
      if (channel !== name) return;
      for (const listen of [...listeners]) listen(message);
    },
    onclose: () => void listen(),
  });
  const listen = async (): Promise<void> => {
    for (let attempt = 0; !closed; attempt++) {
      try {
        await listener.unsafe(`LISTEN ${quoteIdent(name)}`);
        return;
      } catch (error) {
        if (attempt === 0 && listeners.size === 0 && !started) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 2000)));
      }
    }
  };
  let started = false;
  try {
    await listen();
    started = true;
  } catch (error) {
    closed = true;
    await Promise.allSettled([sql.end({ timeout: 0 }), listener.end({ timeout: 0 })]);
    throw pgError(error);
  }
  return {
    async publish(message) {
      if (!fitsPayload(message)) {
        throw new RangeError("a channel message must stay under 8000 bytes");
      }
      try {
        await sql.unsafe("SELECT pg_notify($1, $2)", [name, message]);
      } catch (error) {
        throw pgError(error);
      }
    },
    subscribe(listen) {
      listeners.add(listen);
      return () => void listeners.delete(listen);
    },
    async close() {
      closed = true;
      listeners.clear();
      await Promise.allSettled([sql.end({ timeout: 1 }), listener.end({ timeout: 1 })]);
    },
  };
}
