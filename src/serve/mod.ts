/**
 * The `socksync/hono` entry point: everything a server needs. {@linkcode socksync}
 * mounts a hub on an existing Hono app, {@linkcode serve} runs one on whichever
 * runtime runs it, and {@linkcode guard} refuses upgrades by origin or count.
 *
 * @example
 * ```ts
 * import { Hub } from "../../mod.ts";
 * import { serve } from "./mod.ts";
 * const hub = new Hub();
 * const server = await serve({ hub, port: 0 });
 * await server.close();
 * ```
 *
 * @module
 */
export { socksync, type SocksyncRouteOptions } from "./mount.ts";
export {
  guard,
  guarded,
  type GuardedHub,
  type GuardOptions,
  originAllowed,
  refusal,
} from "./upgrade_guard.ts";
export {
  type Adapter,
  detectRuntime,
  type Listener,
  type ListenOptions,
  loadAdapter,
  type Runtime,
  serve,
  type ServeOptions,
  type Server,
} from "./serve.ts";
