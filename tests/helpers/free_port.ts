/**
 * A free loopback TCP port, for servers that must be started on a known port
 * (e.g. restarted on the same one).
 *
 * @module
 */
import { createServer } from "node:net";

/**
 * Asks the OS for a free port on 127.0.0.1 and releases it.
 *
 * @example
 * ```ts
 * import { freePort } from "./free_port.ts";
 * const port = await freePort();
 * ```
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
