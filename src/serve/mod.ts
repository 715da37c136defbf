/**
 * The `socksync/hono` entry point: everything a server needs. {@linkcode socksync}
 * mounts a hub on an existing Hono app, {@linkcode serve} runs one on whichever
 * runtime runs it. Both check each upgrade before it happens (same origin by
 * default, a connection cap; see {@linkcode GuardOptions}).
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
export type { GuardOptions } from "./upgrade_guard.ts";
export { type Runtime, serve, type ServeOptions, type Server } from "./serve.ts";
