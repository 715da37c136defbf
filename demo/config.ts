/**
 * The demo server's configuration, read from environment variables:
 * `PORT` (default 8080), `HOST` (default 127.0.0.1) and `SOCKSYNC_STORE`
 * (`memory`, `sqlite:PATH`, `redis://…` or `postgres://…`, default
 * {@linkcode DEFAULT_STORE}).
 *
 * @module
 */
import type { Store } from "../src/store.ts";

/**
 * The store used when `SOCKSYNC_STORE` is not set.
 *
 * @example
 * ```ts
 * import { DEFAULT_STORE } from "./config.ts";
 * console.log(`default store: ${DEFAULT_STORE}`);
 * ```
 */
export const DEFAULT_STORE = "sqlite:./data/socksync.db";

/**
 * Where the demo keeps its data, parsed from `SOCKSYNC_STORE`.
 *
 * @example
 * ```ts
 * import type { StoreConfig } from "./config.ts";
 * const config: StoreConfig = { kind: "sqlite", path: "./data/socksync.db" };
 * ```
 */
export type StoreConfig =
  | { kind: "memory" }
  | { kind: "sqlite"; path: string }
  | { kind: "redis"; url: string }
  | { kind: "postgres"; url: string };

/**
 * The whole demo configuration.
 *
 * @example
 * ```ts
 * import type { Config } from "./config.ts";
 * const config: Config = { port: 8080, host: "127.0.0.1", store: { kind: "memory" } };
 * ```
 */
export interface Config {
  /** The port to listen on (0: any free port). */
  port: number;
  /** The address to bind. */
  host: string;
  /** Where data lives. */
  store: StoreConfig;
  /** Origins besides the server's own allowed to open a socket (`SOCKSYNC_ALLOWED_ORIGINS`). */
  allowedOrigins?: string[];
  /** Whether `GET /metrics` answers (`SOCKSYNC_METRICS`, default on; `off` turns it off). */
  metrics?: boolean;
  /** The admin page's token (`SOCKSYNC_ADMIN_TOKEN`); without one there is no admin page. */
  adminToken?: string;
}

/**
 * A configuration mistake, with a message meant for one line on stderr.
 *
 * @example
 * ```ts
 * import { ConfigError } from "./config.ts";
 * const error = new ConfigError("PORT must be an integer from 0 to 65535, got \"http\"");
 * console.error(`socksync demo: ${error.message}`);
 * ```
 */
export class ConfigError extends Error {
  /**
   * @param message what is wrong and what would be right
   */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Reads the configuration from an environment; throws {@linkcode ConfigError}
 * for a bad `PORT`, an empty `HOST` or an unknown store.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const config = parseConfig({ PORT: "0", SOCKSYNC_STORE: "memory" });
 * // config.port === 0, config.host === "127.0.0.1"
 * ```
 */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const config: Config = {
    port: parsePort(env.PORT),
    host: parseHost(env.HOST),
    store: parseStore(env.SOCKSYNC_STORE),
    metrics: parseSwitch("SOCKSYNC_METRICS", env.SOCKSYNC_METRICS),
    ...(env.SOCKSYNC_ADMIN_TOKEN ? { adminToken: env.SOCKSYNC_ADMIN_TOKEN } : {}),
  };
  const allowedOrigins = parseOrigins(env.SOCKSYNC_ALLOWED_ORIGINS);
  return allowedOrigins ? { ...config, allowedOrigins } : config;
}

// Origins besides the server's own that may open a socket (a front end on its own dev server).
function parseOrigins(raw: string | undefined): string[] | undefined {
  const origins = (raw ?? "").split(",").map((origin) => origin.trim()).filter(Boolean);
  for (const origin of origins) {
    if (!/^https?:\/\/(\*\.)?[^\s/]+$/.test(origin)) {
      throw new ConfigError(
        `SOCKSYNC_ALLOWED_ORIGINS must be comma-separated origins such as http://localhost:5173, got ${
          JSON.stringify(origin)
        }`,
      );
    }
  }
  return origins.length > 0 ? origins : undefined;
}

function parseSwitch(name: string, raw: string | undefined): boolean {
  const value = raw?.trim().toLowerCase() ?? "";
  if (value === "" || value === "on" || value === "1" || value === "true") return true;
  if (value === "off" || value === "0" || value === "false") return false;
  throw new ConfigError(`${name} must be on or off, got ${JSON.stringify(raw)}`);
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return 8080;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65535) {
    throw new ConfigError(
      `PORT must be an integer from 0 to 65535, got ${JSON.stringify(raw)}`,
    );
  }
  return port;
}

function parseHost(raw: string | undefined): string {
  if (raw === undefined) return "127.0.0.1";
  const host = raw.trim();
  if (host === "" || /[\s/]/.test(host)) {
    throw new ConfigError(
      `HOST must be an address or host name, got ${JSON.stringify(raw)}`,
    );
  }
  return host;
}

function parseStore(raw: string | undefined): StoreConfig {
  const spec = (raw ?? "").trim() || DEFAULT_STORE;
  if (spec === "memory") return { kind: "memory" };
  if (spec.startsWith("sqlite:")) {
    const path = spec.slice("sqlite:".length);
    if (path === "") {
      throw new ConfigError(
        "SOCKSYNC_STORE=sqlite: needs a file path, e.g. sqlite:./data/socksync.db",
      );
    }
    return { kind: "sqlite", path };
  }
  if (spec.startsWith("redis://") || spec.startsWith("rediss://")) {
    return { kind: "redis", url: spec };
  }
  if (spec.startsWith("postgres://") || spec.startsWith("postgresql://")) {
    return parsePostgres(spec);
  }
  throw new ConfigError(
    `SOCKSYNC_STORE must be memory, sqlite:PATH, redis://HOST:PORT or postgres://USER@HOST:PORT/DB, got ${
      JSON.stringify(hidePassword(spec))
    }`,
  );
}

// The URL is checked here, so that a typo is named before anything connects.
function parsePostgres(spec: string): StoreConfig {
  let url: URL | undefined;
  try {
    url = new URL(spec);
  } catch {
    url = undefined;
  }
  const database = url ? decodeURIComponent(url.pathname.slice(1)) : "";
  if (!url || url.hostname === "" || database === "" || database.includes("/")) {
    throw new ConfigError(
      `SOCKSYNC_STORE must be postgres://USER@HOST:PORT/DB for PostgreSQL, got ${
        JSON.stringify(hidePassword(spec))
      }`,
    );
  }
  return { kind: "postgres", url: spec };
}

// user:password@ → user:***@, in a URL or anything that looks like one.
function hidePassword(text: string): string {
  return text.replace(/\/\/([^@/]*?):[^@/]*@/, "//$1:***@");
}

/**
 * The store setting as it can be shown in a message: a Redis or PostgreSQL URL
 * without its password.
 *
 * @example
 * ```ts
 * import { describeStore } from "./config.ts";
 * describeStore({ kind: "redis", url: "redis://:secret@db:6379" }); // "redis://:***@db:6379"
 * ```
 */
export function describeStore(config: StoreConfig): string {
  switch (config.kind) {
    case "memory":
      return "memory";
    case "sqlite":
      return `sqlite:${config.path}`;
    case "redis":
    case "postgres":
      return hidePassword(config.url);
  }
}

/**
 * Opens the configured store. SQLite, Redis and PostgreSQL are imported only when chosen,
 * so the demo runs without their drivers. A store that cannot be opened (an
 * unreachable Redis, an unwritable file, a missing driver) is a bad setting
 * like any other: it throws a {@linkcode ConfigError} that names the store
 * (for Redis and PostgreSQL, the host and port it tried).
 *
 * @example
 * ```ts
 * import { openStore } from "./config.ts";
 * const store = await openStore({ kind: "memory" });
 * await store.close();
 * ```
 */
export async function openStore(config: StoreConfig): Promise<Store> {
  try {
    switch (config.kind) {
      case "memory":
        return (await import("../stores/memory/mod.ts")).memoryStore();
      case "sqlite":
        return await (await import("../stores/sqlite/mod.ts")).openSqliteStore({
          path: config.path,
        });
      case "redis":
        return await (await import("../stores/redis/mod.ts")).openRedisStore({
          url: config.url,
        });
      case "postgres":
        return await (await import("../stores/postgres/mod.ts")).openPostgresStore({
          url: config.url,
        });
    }
  } catch (error) {
    // The driver's message may quote the URL, password and all.
    const message = hidePassword(error instanceof Error ? error.message : String(error))
      .replace(/\s*\n\s*/g, " ");
    throw new ConfigError(
      `cannot open the store SOCKSYNC_STORE=${describeStore(config)}: ${message}`,
    );
  }
}
