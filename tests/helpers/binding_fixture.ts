/**
 * What the binding tests share: the demo hub served on a free loopback port
 * with a real client connected to it, and that client counting the
 * subscriptions the bindings hold open (so a test sees them end on unmount),
 * its connection state included.
 *
 * @module
 */
import type { BindableClient, SnapshotSource } from "../../src/ui/contract.ts";
import { type Client, connect } from "../../src/client/client.ts";
import { optimisticCalls } from "../../src/client/optimistic.ts";
import { serve } from "../../src/serve/serve.ts";
import { memoryStore } from "../../stores/memory/mod.ts";
import { createDemoHub } from "../../demo/app.ts";
import type { ClientOptions } from "../../src/client/types.ts";
import { webSocketClass } from "./raw_socket.ts";

/**
 * The real client, wrapped so that `open` counts the subscriptions and views
 * still open through it.
 */
export interface CountingClient extends BindableClient {
  /** The client itself. */
  readonly client: Client;
  /** Subscriptions and views opened through this wrapper and not yet ended. */
  readonly open: number;
}

function counted<S>(mirror: SnapshotSource<S>, count: (n: number) => void): SnapshotSource<S> {
  const subscribe = (listener: (snapshot: S) => void) => {
    count(1);
    const off = mirror.subscribe(listener);
    let done = false;
    return () => {
      if (!done) count(-1);
      done = true;
      off();
    };
  };
  return { getSnapshot: () => mirror.getSnapshot(), subscribe };
}

/** The server side of {@linkcode withDemoClient}. */
export interface DemoServer {
  /** Closes every connection from the server's side (the hub keeps serving). */
  dropConnections(code: number, reason: string): void;
}

/** Options of {@linkcode withDemoClient}. */
export interface DemoClientOptions {
  /** The client's reconnect delays. Default 20–200 ms. */
  reconnect?: ClientOptions["reconnect"];
}

/**
 * Serves the demo hub, connects a client and runs `fn`; closes everything after.
 */
export async function withDemoClient(
  fn: (client: CountingClient, server: DemoServer) => Promise<void>,
  options: DemoClientOptions = {},
): Promise<void> {
  const store = memoryStore();
  const hub = createDemoHub(store);
  const server = await serve({ hub, port: 0, hostname: "127.0.0.1" });
  const WebSocket = await webSocketClass();
  const client = connect(`ws://127.0.0.1:${server.port}/ws/socksync`, {
    WebSocket,
    reconnect: options.reconnect ?? { minDelay: 20, maxDelay: 200 },
    optimisticCalls,
  });
  const real = client as unknown as BindableClient;
  let open = 0;
  const count = (n: number) => open += n;
  const wrapper: CountingClient = {
    client,
    get open() {
      return open;
    },
    var: (name) => counted(real.var(name), count),
    list: (name, options) => {
      const view = real.list(name, options);
      count(1);
      let closed = false;
      return Object.assign(counted(view, count), {
        setPage: (page: number, pageSize?: number) => view.setPage(page, pageSize),
        close: () => {
          if (!closed) count(-1);
          closed = true;
          view.close();
        },
      });
    },
    item: (list, id) => {
      const mirror = real.item(list, id);
      count(1);
      let closed = false;
      return Object.assign(counted(mirror, count), {
        close: () => {
          if (!closed) count(-1);
          closed = true;
          mirror.close();
        },
      });
    },
    call: (name, args, options) => real.call(name, args, options),
    connection: counted(real.connection, count),
  };
  const served: DemoServer = {
    dropConnections: (code, reason) => {
      for (const peer of [...hub.peers]) peer.close(code, reason);
    },
  };
  try {
    await client.ready();
    await fn(wrapper, served);
  } finally {
    client.close();
    await server.close();
    await hub.close();
    await store.close();
  }
}
