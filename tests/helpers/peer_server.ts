/**
 * Test helpers for the peer tests: a hub served on a free loopback port of
 * the running runtime (closed by the caller), and the command that runs a
 * TypeScript file on the running runtime.
 *
 * @module
 */
import process from "node:process";
import type { Hub, Peer } from "../../mod.ts";
import { serve, type Server } from "../../src/serve.ts";

/**
 * A served hub: its URL, and the server to close.
 *
 * @example
 * ```ts
 * import type { Served } from "./peer_server.ts";
 * const close = (served: Served) => served.server.close();
 * ```
 */
export interface Served {
  /** The server. */
  server: Server;
  /** Its WebSocket URL. */
  url: string;
}

/**
 * Serves a hub; `onConnect` replaces the default (`peer.acceptCalls()`).
 *
 * @example
 * ```ts
 * import { Hub } from "../../mod.ts";
 * import { serveFor } from "./peer_server.ts";
 * const { server } = await serveFor(new Hub());
 * await server.close();
 * ```
 */
export async function serveFor<C>(
  hub: Hub<C>,
  options: { onConnect?: (peer: Peer) => void; context?: () => C } = {},
): Promise<Served> {
  const server = await serve({
    hub,
    port: 0,
    hostname: "127.0.0.1",
    onConnect: options.onConnect,
    context: options.context,
  });
  return { server, url: `ws://127.0.0.1:${server.port}/ws/socksync` };
}

/**
 * The command that runs a TypeScript file on the runtime running the tests.
 *
 * @example
 * ```ts
 * import { scriptCommand } from "./peer_server.ts";
 * const [command, ...args] = scriptCommand("tests/helpers/timers_off_child.ts");
 * ```
 */
export function scriptCommand(file: string): string[] {
  const runtime = globalThis as { Deno?: unknown; Bun?: unknown };
  if (runtime.Deno) return [process.execPath, "run", "-A", file];
  if (runtime.Bun) return [process.execPath, "run", file];
  return [process.execPath, "--import", "tsx", file];
}
