// The origins example of docs/security.md: origins allowed next to the
// server's own, with the hub it assumes.
import { Hub } from "socksync";
import { serve } from "socksync/hono";

const hub = new Hub();
const server = await serve({
  hub,
  guard: {
    allowedOrigins: [
      "http://localhost:5173", // exact, as the browser sends it: a dev server on another port
      "https://*.example.com", // any subdomain (a.example.com, a.b.example.com; not example.com)
    ],
  },
});
// A predicate decides for every origin but the server's own:
//   guard: { allowedOrigins: (origin) => myOrigins.has(origin) }
// Opt out: every page on the web may open a socket with your users' cookies.
//   guard: { allowedOrigins: "*" }
console.log(`listening on ${server.url}`);
await server.close();
await hub.close();
