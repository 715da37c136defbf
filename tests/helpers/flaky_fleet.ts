/**
 * Test support for the bad-network tests: the demo hub (counter, todos) on a
 * memory store, served in process on the running runtime, behind a
 * {@linkcode startFaultProxy} fault proxy, with clients mirroring the counter
 * and a page of the todos through it, and a check that every mirror equals a
 * fresh read of the store.
 *
 * @module
 */
import { type Client, connect, type ListView } from "../../src/client/client.ts";
import type { VarMirror } from "../../src/client/mirror.ts";
import type { DisconnectInfo } from "../../src/client/types.ts";
import type { Limits } from "../../src/peer/limits.ts";
import type { Peer } from "../../src/peer/peer.ts";
import { memoryStore } from "../../stores/memory/mod.ts";
import type { Store } from "../../src/store.ts";
import { createDemoHub } from "../../demo/app.ts";
import type { TodoValue } from "../../demo/app.ts";
import { type FaultProxy, type FaultProxyOptions, startFaultProxy } from "./fault_proxy.ts";
import { webSocketClass } from "./raw_socket.ts";
import { serveHub, type Server } from "./serve_hub.ts";
import { waitUntil } from "./wait.ts";

/** One client of the fleet and what it saw. */
export interface FleetClient {
  client: Client;
  counter: VarMirror<number>;
  todos: ListView<TodoValue>;
  /** Every drop, with the time it was reported. */
  drops: (DisconnectInfo & { at: number })[];
}

/** The served hub, the proxy and the clients. */
export interface Fleet {
  store: Store;
  server: Server;
  proxy: FaultProxy;
  /** The server's connected peers (the hub's). */
  peers(): ReadonlySet<Peer<unknown>>;
  clients: FleetClient[];
  /** Waits until every mirror equals a fresh read of the store. */
  converge(what: string, timeout?: number): Promise<void>;
}

/** Options of {@linkcode withFleet}. */
export interface FleetOptions {
  clients: number;
  /** The proxy's latency, bandwidth, … (its target is the server). */
  proxy?: Omit<FaultProxyOptions, "target">;
  /** Limits of the hub. */
  hubLimits?: Partial<Limits>;
  /** Limits of each client. */
  clientLimits?: Partial<Limits>;
}

/**
 * Serves the demo hub behind a fault proxy, connects the clients, waits for
 * their first values, runs `body`, and closes everything.
 */
export async function withFleet(
  options: FleetOptions,
  body: (fleet: Fleet) => Promise<void>,
): Promise<void> {
  const store = memoryStore();
  const hub = createDemoHub(store, { limits: options.hubLimits });
  const { server } = await serveHub(hub);
  const proxy = await startFaultProxy({ ...options.proxy, target: server.port });
  const WebSocket = await webSocketClass();
  const clients: FleetClient[] = [];
  try {
    for (let i = 0; i < options.clients; i++) {
      const drops: FleetClient["drops"] = [];
      const client = connect(proxy.url("/ws/socksync"), {
        WebSocket,
        reconnect: { minDelay: 50, maxDelay: 500 },
        limits: options.clientLimits,
        onDisconnect: (info) => drops.push({ ...info, at: Date.now() }),
      });
      const counter = client.var<number>("counter");
      const todos = client.list<TodoValue>("todos", { page: i % 2, pageSize: 3 });
      clients.push({ client, counter, todos, drops });
    }
    const mismatch = async (): Promise<string | undefined> => {
      const value = (await store.vars.get("counter") ?? 0) as number;
      const list = store.list<TodoValue>("todos");
      for (const [n, c] of clients.entries()) {
        if (!c.client.connected) return `client ${n} is not connected`;
        if (!c.counter.ready || c.counter.value !== value) {
          return `client ${n}: counter ${c.counter.value}, store ${value}`;
        }
        const size = c.todos.pageSize!;
        const page = await list.page(c.todos.page * size, size);
        if (
          !c.todos.ready || c.todos.total !== page.total ||
          JSON.stringify(c.todos.items) !== JSON.stringify(page.items)
        ) {
          return `client ${n}: todos page ${c.todos.page} differs from the store`;
        }
      }
      return undefined;
    };
    const converge = async (what: string, timeout = 15_000) => {
      let last: string | undefined;
      try {
        await waitUntil(async () => (last = await mismatch()) === undefined, { what, timeout });
      } catch (error) {
        throw new Error(`${(error as Error).message}: ${last}`);
      }
    };
    await converge("the first values");
    await body({ store, server, proxy, peers: () => hub.peers, clients, converge });
  } finally {
    for (const c of clients) c.client.close();
    await proxy.close();
    await server.close();
    await hub.close();
    await store.close();
  }
}
