/**
 * A message channel between the instances of one application over Redis
 * pub/sub: what one instance publishes, every subscribed instance receives
 * within a few milliseconds. A hub uses one to carry revocations
 * (`new Hub({ revocations: await openRedisChannel({ url }) })`).
 *
 * @module
 */
import type { Redis } from "ioredis";
import { importDriver } from "../common/driver_import.ts";
import { storeError } from "../common/store_errors.ts";

/**
 * Options of {@linkcode openRedisChannel}.
 *
 * @example
 * ```ts
 * import type { RedisChannelOptions } from "./channel.ts";
 * const options: RedisChannelOptions = { url: "redis://127.0.0.1:6379", channel: "app:revocations" };
 * ```
 */
export interface RedisChannelOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  url: string;
  /** The Redis channel (default `"socksync:revocations"`). */
  channel?: string;
}

/**
 * A channel between instances: publish to all, subscribe to what all publish
 * (this instance's own messages included).
 *
 * @example
 * ```ts
 * import type { RedisChannel } from "./channel.ts";
 * const shout = (channel: RedisChannel) => channel.publish("hello");
 * ```
 */
export interface RedisChannel {
  /** Sends a message to every subscribed instance. */
  publish(message: string): Promise<void>;
  /** Calls `listener` with every message; returns the remover. */
  subscribe(listener: (message: string) => void): () => void;
  /** Closes both connections. */
  close(): Promise<void>;
}

/**
 * Opens a channel: a publishing and a subscribed connection to Redis,
 * reconnecting by themselves. Rejects with a `SockSyncError` (code 8) when
 * Redis does not answer.
 *
 * @example
 * ```ts
 * import { openRedisChannel } from "./channel.ts";
 * const channel = await openRedisChannel({ url: "redis://127.0.0.1:6379" });
 * const stop = channel.subscribe((message) => console.log(message));
 * await channel.publish("hello");
 * stop();
 * await channel.close();
 * ```
 */
export async function openRedisChannel(options: RedisChannelOptions): Promise<RedisChannel> {
  const { Redis } = await importDriver(
    { entry: "socksync/stores/redis", pkg: "ioredis" },
    () => import("ioredis"),
  );
  const name = options.channel ?? "socksync:revocations";
  const settings = { lazyConnect: true, retryStrategy: (n: number) => Math.min(50 * 2 ** n, 2000) };
  const publisher: Redis = new Redis(options.url, settings);
  const subscriber: Redis = new Redis(options.url, settings);
  // Failures reach callers through rejected commands; an unheard 'error' would crash.
  publisher.on("error", () => {});
  subscriber.on("error", () => {});
  const listeners = new Set<(message: string) => void>();
  subscriber.on("message", (channel: string, message: string) => {
    if (channel !== name) return;
    for (const listener of [...listeners]) listener(message);
  });
  try {
    await Promise.all([publisher.connect(), subscriber.connect()]);
    await subscriber.subscribe(name);
  } catch (error) {
    publisher.disconnect();
    subscriber.disconnect();
    throw storeError(error);
  }
  return {
    async publish(message) {
      try {
        await publisher.publish(name, message);
      } catch (error) {
        throw storeError(error);
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close() {
      listeners.clear();
      await Promise.allSettled([publisher.quit(), subscriber.quit()]);
    },
  };
}
