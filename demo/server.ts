/**
 * The demo server: `deno run server`, `bun run server` or `npm run server`.
 * Configured by `PORT`, `HOST`, `SOCKSYNC_STORE`, `SOCKSYNC_ALLOWED_ORIGINS`, `SOCKSYNC_METRICS`
 * and `SOCKSYNC_ADMIN_TOKEN` (see `config.ts` and `admin.ts`), and `SOCKSYNC_SECRET`, the key
 * user sessions are signed with (default: a random one per start, so sessions end with the
 * process).
 *
 * @module
 */
// node:process works on Deno, Bun and Node alike; this entry point is not core.
import process from "node:process";
import { detectRuntime, serve } from "../src/serve/serve.ts";
import { createDemoApp, createDemoHub } from "./app.ts";
import { openChat } from "./chat.ts";
import { ConfigError, describeStore, openStore, parseConfig } from "./config.ts";
import { type BindingPage, buildAdminPage, buildBindingPages, buildPage } from "./page/build.ts";
import { addAdminRoutes, addMetricsRoute, AdminSessions, demoContext } from "./admin.ts";
import { provideAdmin } from "../src/server/admin.ts";
import { type DemoSession, Sessions, tokenOf } from "./session.ts";
import { openChannel, rememberLogouts, shareLogouts } from "./revocations.ts";

/** A shutdown that takes longer than this is cut short. */
const SHUTDOWN_LIMIT_MS = 5000;

// A bad setting, an unreachable store included, is one line on stderr and exit code 2.
function badSetting(error: unknown): never {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`socksync demo: ${error.message}`);
  process.exit(2);
}

let config;
try {
  config = parseConfig(process.env);
} catch (error) {
  badSetting(error);
}

const store = await openStore(config.store).catch(badSetting);
// The chat's table lives in the database of a PostgreSQL or SQLite store, else in memory.
const chat = await openChat(config.store).catch((error) =>
  badSetting(
    new ConfigError(
      `cannot open the chat database of SOCKSYNC_STORE=${describeStore(config.store)}: ${
        errorText(error)
      }`,
    ),
  )
);
const userSessions = await Sessions.create(process.env.SOCKSYNC_SECRET || undefined);
// Sign-outs reach every instance of a shared Redis or PostgreSQL store.
const channel = await openChannel(config.store).catch((error) =>
  badSetting(
    new ConfigError(
      `cannot open the revocation channel of SOCKSYNC_STORE=${describeStore(config.store)}: ${
        errorText(error)
      }`,
    ),
  )
);
const shareLogout = shareLogouts(channel, userSessions);
// In the store too: an instance started later, or this one restarted, refuses those tokens.
const recordLogout = await rememberLogouts(store.vars, userSessions);
const publishLogout = async (session: DemoSession) => {
  await recordLogout(session);
  await shareLogout?.(session);
};
const hub = createDemoHub(store, { chat, sessions: userSessions, revocations: channel });
const page = await buildPage();
const app = createDemoApp({
  hub,
  store,
  runtime: detectRuntime(),
  page,
  sessions: userSessions,
  publishLogout,
});
// The same demo written with socksync/vue, socksync/react and socksync/svelte, on the same
// origin (so the WebSocket's same-origin check lets them in).
const bindingPages = await buildBindingPages();
for (const [kind, built] of Object.entries(bindingPages) as [string, BindingPage][]) {
  app.get(`/${kind}`, (c) => c.redirect(`/${kind}/`));
  app.get(`/${kind}/`, (c) => c.html(built.html));
  app.get(`/${kind}/app.js`, (c) => {
    c.header("content-type", "text/javascript; charset=utf-8");
    return c.body(built.script);
  });
}
// Operators: `GET /metrics` unless SOCKSYNC_METRICS=off; `/admin/` only with SOCKSYNC_ADMIN_TOKEN.
if (config.metrics !== false) await addMetricsRoute(app, hub);
const sessions = config.adminToken ? new AdminSessions(config.adminToken) : undefined;
const admin = sessions ? provideAdmin(hub) : undefined;
if (sessions) addAdminRoutes(app, sessions, await buildAdminPage());
const adminContext = demoContext(sessions);
const server = await serve({
  hub,
  app,
  // Admin or not, and a same-origin page's session cookie (or a bearer token header).
  context: async (c) => ({
    ...adminContext(c),
    session: await userSessions.verify(tokenOf(c.req.raw)),
  }),
  port: config.port,
  hostname: config.host,
  // A front end on its own dev server (Vite's http://localhost:5173): SOCKSYNC_ALLOWED_ORIGINS.
  guard: config.allowedOrigins ? { allowedOrigins: config.allowedOrigins } : undefined,
}).catch((error) => {
  console.error(
    `socksync demo: cannot listen on ${config.host}:${config.port}: ${errorText(error)}`,
  );
  process.exit(1);
});
console.log(
  `SockSync demo listening on ${server.url} (${server.runtime}, store: ${store.kind})`,
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`socksync demo: ${signal}, shutting down`);
  const limit = setTimeout(() => {
    console.error("socksync demo: shutdown took too long, exiting anyway");
    process.exit(1);
  }, SHUTDOWN_LIMIT_MS);
  try {
    admin?.close();
    await server.close();
    await hub.close();
    await store.close();
    await chat.close();
    await channel?.close();
  } catch (error) {
    console.error(
      `socksync demo: error while shutting down: ${errorText(error)}`,
    );
  }
  clearTimeout(limit);
  console.log("socksync demo: stopped");
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
