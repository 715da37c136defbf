/**
 * Every entry point's public names, pinned: adding, removing or renaming an
 * export (or turning a type into a value) fails here until this list says
 * so, which makes a change of the public API a deliberate one.
 *
 * The names are read from each entry's source (tests/helpers/export_names.ts);
 * the runtime ones are checked against what importing the entry really gives,
 * so the reading cannot drift from the modules. The entry list itself must be
 * the same in package.json `exports`, deno.json `exports` and deno.json
 * `imports` (`socksync/…`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { exportNames } from "./helpers/export_names.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const json = (file: string) => JSON.parse(readFileSync(join(root, file), "utf8"));

/** Entry point (package.json `exports` key) → its names, types as `type Name`. */
const PUBLIC: Record<string, string[]> = {
  ".": [
    "type AccessRequest",
    "type ApiOf",
    "type ApiShape",
    "type ArgsOf",
    "type BackoffOptions",
    "CLIENT_LIMITS",
    "type CallContext",
    "type CallMemoryOptions",
    "type CallStore",
    "Client",
    "type ClientCallOptions",
    "type ClientErrorInfo",
    "type ClientOptions",
    "type ConnectOptions",
    "type ConnectionState",
    "type ConnectionStateSource",
    "type ConnectionStatus",
    "DEFAULT_LIMITS",
    "type DeclaredFunction",
    "type DeclaredList",
    "type DeclaredParamList",
    "type DeclaredVar",
    "type DisconnectInfo",
    "ErrorCode",
    "type ErrorCodeValue",
    "type FunctionName",
    "Hub",
    "type HubOptions",
    "type HubParamListOptions",
    "ItemMirror",
    "type ItemOf",
    "type ItemSnapshot",
    "type Limits",
    "type ListChange",
    "type ListItem",
    "type ListListener",
    "ListMirror",
    "type ListName",
    "type ListOpenOptions",
    "type ListOptions",
    "type ListPage",
    "type ListSnapshot",
    "type ListSource",
    "ListView",
    "type ListViewOptions",
    "type LocalFunction",
    "LocalList",
    "LocalVar",
    "type OptimisticChange",
    "type ParamListOptions",
    "type ParamsOf",
    "type Presence",
    "type PresenceOptions",
    "type PresenceStore",
    "type ResultOf",
    "type SnapshotItem",
    "SockSyncError",
    "type Store",
    "type TypedListOptions",
    "type UntypedApi",
    "type VarListener",
    "VarMirror",
    "type VarName",
    "type VarOptions",
    "type VarSnapshot",
    "type VarStore",
    "type WebSocketConstructor",
    "type WebSocketLike",
    "connect",
    "isSockSyncError",
  ],
  "./hono": [
    "type GuardOptions",
    "type Runtime",
    "type ServeOptions",
    "type Server",
    "type SocksyncRouteOptions",
    "serve",
    "socksync",
  ],
  "./protocol": [
    "type Decoded",
    "type ErrorFields",
    "type ErrorFrame",
    "type InsertFields",
    "type ListParams",
    "type Message",
    "type MessageMap",
    "MessageSchemas",
    "type MessageWithFunc",
    "OPEN",
    "PROBE_NAME",
    "type RequestFields",
    "type SetAllFields",
    "decodeFrame",
    "decodeObject",
    "encodeCall",
    "encodeDelete",
    "encodeError",
    "encodeGet",
    "encodeInsert",
    "encodeItemSet",
    "encodeReturn",
    "encodeSetAll",
    "encodeSetCount",
    "encodeSubscribe",
    "encodeUnsubscribe",
    "encodeVarSet",
    "errorFrame",
  ],
  "./peer": [
    "type CallLedger",
    "type CallOptions",
    "ConnectionClosed",
    "type ErrorAbout",
    "PEER_LIMITS",
    "Peer",
    "type PeerCallOptions",
    "type PeerOptions",
    "type Registry",
    "type SocketLike",
    "type Subscriber",
  ],
  "./stores/memory": ["MemoryListSource", "MemoryPresenceStore", "MemoryVarStore", "memoryStore"],
  "./stores/sqlite": [
    "type SqliteArrayStatement",
    "type SqliteDriver",
    "type SqliteStatement",
    "type SqliteStore",
    "type SqliteStoreOptions",
    "type SqliteVarStore",
    "openSqliteStore",
    "sqliteStore",
  ],
  "./stores/sqlite_table": [
    "type OrderTerm",
    "type RowSchema",
    "type SqliteDriver",
    "type SqliteStatement",
    "type SqliteTableOptions",
    "SqliteTableSource",
    "openSqliteDriver",
    "sqliteTable",
  ],
  "./stores/redis": ["type LeaseOptions", "type RedisStoreOptions", "openRedisStore"],
  "./stores/postgres": ["type LeaseOptions", "type PostgresStoreOptions", "openPostgresStore"],
  "./stores/postgres_table": [
    "type OrderTerm",
    "type PostgresTableOptions",
    "PostgresTableSource",
    "PostgresTables",
    "type PostgresTablesOptions",
    "type RowSchema",
    "openPostgresTables",
    "postgresTable",
  ],
  "./testing": [
    "type ConformanceOptions",
    "type Maker",
    "type SortedConformanceOptions",
    "type SortedFixture",
    "listSourceConformance",
    "sortedSourceConformance",
    "varStoreConformance",
  ],
  "./vue": [
    "type BindableClient",
    "type CallChange",
    "type ConnectionState",
    "type ConnectionStatus",
    "type ItemEntry",
    "type ItemState",
    "type ListHandle",
    "type ListState",
    "type OptimisticEdit",
    "type UseListOptions",
    "type UseListRest",
    "type VarState",
    "type VueHooks",
    "createHooks",
    "provideClient",
    "socksync",
    "useCall",
    "useClient",
    "useConnection",
    "useItem",
    "useList",
    "useVar",
  ],
  "./react": [
    "type BindableClient",
    "type CallChange",
    "type ConnectionState",
    "type ConnectionStatus",
    "type ItemEntry",
    "type ItemState",
    "type ListHook",
    "type ListOpenOptions",
    "type ListState",
    "type OptimisticEdit",
    "type ReactHooks",
    "SockSyncProvider",
    "type SockSyncProviderProps",
    "type VarState",
    "createHooks",
    "useCall",
    "useClient",
    "useConnection",
    "useItem",
    "useList",
    "useVar",
  ],
  "./prometheus": [
    "DURATION_BUCKETS",
    "Histogram",
    "Metrics",
    "type RegisterOptions",
    "type SlowConsumerAction",
    "type SubscriptionType",
    "missingPromClient",
    "registerMetrics",
  ],
  "./svelte": [
    "type BindableClient",
    "type CallChange",
    "type ConnectionHandle",
    "type ConnectionState",
    "type ConnectionStatus",
    "type ItemEntry",
    "type ItemHandle",
    "type ItemState",
    "type ListHandle",
    "type ListOpenOptions",
    "type ListState",
    "type OptimisticEdit",
    "type Subscribable",
    "type SvelteHooks",
    "type VarHandle",
    "type VarState",
    "createHooks",
    "provideClient",
    "useCall",
    "useClient",
    "useConnection",
    "useItem",
    "useList",
    "useVar",
  ],
};

const entries: Record<string, string> = json("package.json").exports;

test("package.json, deno.json exports and deno.json imports list the same entry points", () => {
  const deno = json("deno.json");
  assert.deepEqual(deno.exports, entries);
  const imports = Object.fromEntries(
    Object.entries(deno.imports as Record<string, string>)
      .filter(([name]) => name === "socksync" || name.startsWith("socksync/"))
      .map(([name, file]) => [name === "socksync" ? "." : `./${name.slice(9)}`, file]),
  );
  assert.deepEqual(imports, entries);
});

test("the entry points are the pinned ones", () => {
  assert.deepEqual(Object.keys(entries).sort(), Object.keys(PUBLIC).sort());
});

for (const [key, file] of Object.entries(entries)) {
  test(`${key} exports exactly its pinned names`, async () => {
    const names = exportNames(readFileSync(join(root, file), "utf8"));
    assert.deepEqual(names, PUBLIC[key], `${key} (${file}): update PUBLIC deliberately`);
    const runtime = names.filter((name) => !name.startsWith("type ")).sort();
    const loaded = Object.keys(await import(pathToFileURL(join(root, file)).href)).sort();
    assert.deepEqual(loaded, runtime, `${key}: the values importing ${file} gives`);
  });
}
