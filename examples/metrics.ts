// Metrics: docs/operating.md. Needs prom-client (npm install prom-client).
import { Hono } from "hono";
import { Hub } from "socksync";
import { serve } from "socksync/hono";
import { registerMetrics } from "socksync/prometheus";

const hub = new Hub({ metrics: true });
// prom-client's default registry: the app's own metrics (and @hono/prometheus's) are in it too.
const registry = await registerMetrics(hub);
const app = new Hono();
app.get("/metrics", async (c) => c.text(await registry.metrics()));
const server = await serve({ hub, app, port: 0 });

console.log((await (await fetch(`${server.url}/metrics`)).text()).split("\n")[2]);
await server.close();
await hub.close();
