// The "mount on your own Hono app" example of docs/serving.md, on Deno (`hono/deno`), with
// the hub and app it assumes: `deno run -A examples/mount_deno.ts`.
import { Hono } from "hono";
import { Hub } from "socksync";

const hub = new Hub();
const app = new Hono();

import { upgradeWebSocket } from "hono/deno";
import { socksync } from "socksync/hono";

// Same origin only, as with serve(); `guard: { allowedOrigins }` allows more.

app.get(
  "/ws/socksync",
  socksync(hub, {
    upgradeWebSocket,
    context: (c) => ({ user: c.req.header("x-user") }), // handed to function handlers
    onConnect: (peer) => peer.acceptCalls(), // or acceptCalls("increment", ...)
  }),
);

const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
console.log(`mounted on http://127.0.0.1:${server.addr.port}/ws/socksync`);
await server.shutdown();
await hub.close();
