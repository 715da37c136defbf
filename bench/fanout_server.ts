/**
 * The server side of the fan-out and idle-memory benchmarks. One process per
 * (runtime, mode); driven by `bench/fanout.ts` over stdin/stdout lines:
 *
 *   → READY <port>                 once listening on 127.0.0.1
 *   ← fire <seq>                   one var set (socksync) / raw send loop / io.emit
 *   ← cpu                          → CPU <µs since the last `mark`>
 *   ← mark                         → MARK (starts a CPU interval)
 *   ← mem                          → MEM <rss> <heapUsed> <connections>  (after GC)
 *   ← parts                        → PARTS <json>: what the RSS is made of (after GC; see memoryParts)
 *   ← quit
 *
 * Modes: `socksync` (this library's `serve()` on the runtime's adapter;
 * `metrics`: the same with the hub's metrics on),
 * `raw` (Node: a `ws` loop; Deno: a `socket.send` loop; Bun: `server.publish`),
 * `socketio` (Node only: Socket.IO 4 `io.emit`), `ws` (the `ws` send loop on any
 * runtime: on Deno it runs over `node:http`, the path SockSync serves Deno on),
 * `native` (Deno only: the hub on `Deno.serve`, for comparison),
 * `bare` (for the profile of idle memory: `serve()`'s route, guard and adapter without a peer;
 * each socket joins the runtime's topic where it has one and gets the frame once).
 *
 * Run alone: node --expose-gc --import tsx bench/fanout_server.ts raw
 *            npx deno run -A --v8-flags=--expose-gc bench/fanout_server.ts socksync
 *            npx bun bench/fanout_server.ts raw
 */
import process from "node:process";
import { createInterface } from "node:readline";
import type { SocketLike } from "../src/peer/socket.ts";
import { cpuMicros, fullGc, runtime } from "./lib.ts";

const mode = process.argv[2] ?? "socksync";
const rt = runtime();
const HOST = "127.0.0.1";

/** The var value of round `seq`; its socksync `set` frame is 100 bytes. */
export function valueOf(seq: number): { seq: number; pad: string } {
  const base = JSON.stringify({
    func: "set",
    type: "var",
    name: "bench",
    value: { seq, pad: "" },
  }).length;
  return { seq, pad: "x".repeat(Math.max(0, 100 - base)) };
}
export function frameOf(seq: number): string {
  return JSON.stringify({ func: "set", type: "var", name: "bench", value: valueOf(seq) });
}

interface Server {
  port: number;
  fire(seq: number): void | Promise<void>;
  connections(): number;
}

async function socksyncServer(metrics = false): Promise<Server> {
  const { Hub } = await import("../src/server/hub.ts");
  const { serve } = await import("../src/serve/serve.ts");
  const v = await import("valibot");
  // Caps (connections, idle timeout) raised past the benchmark's sizes.
  const hub = new Hub(
    {
      limits: { maxConnections: 1_000_000, idleTimeout: 3_600_000 },
      metrics,
    } as ConstructorParameters<
      typeof Hub
    >[0],
  );
  const bench = hub.var("bench", { schema: v.unknown(), initial: valueOf(0) });
  // No function subscriptions: only the var's frames go out.
  const server = await serve({ hub, port: 0, hostname: HOST, onConnect: () => {} });
  return {
    port: server.port,
    fire: (seq) => bench.set(valueOf(seq)),
    connections: () => server.connections,
  };
}

/**
 * `native` mode (Deno only, for comparison): the same hub on `Deno.serve` with
 * `Deno.upgradeWebSocket`, which SockSync does not serve on (no frame cap,
 * lost close codes: see src/serve/adapter/deno.ts). Its sockets have no
 * topics, so each subscriber gets its own `socket.send`.
 */
async function nativeDenoServer(): Promise<Server> {
  const { Hub } = await import("../src/server/hub.ts");
  const v = await import("valibot");
  const hub = new Hub(
    { limits: { maxConnections: 1_000_000, idleTimeout: 3_600_000 } } as ConstructorParameters<
      typeof Hub
    >[0],
  );
  const bench = hub.var("bench", { schema: v.unknown(), initial: valueOf(0) });
  let count = 0;
  return denoWebSocketServer(
    { fire: (seq) => bench.set(valueOf(seq)), connections: () => count },
    (socket) => {
      socket.onopen = () => {
        count++;
        const peer = hub.connect(socket);
        socket.onmessage = (e: MessageEvent) => peer.receive(e.data);
        socket.onclose = (e: CloseEvent) => {
          count--;
          peer.detach(e.code);
        };
      };
    },
  );
}

/** A `Deno.serve` server that upgrades every request and hands the socket to `accept`. */
function denoWebSocketServer(
  server: Omit<Server, "port">,
  accept: (socket: WebSocket) => void,
): Promise<Server> {
  // deno-lint-ignore no-explicit-any
  const Deno = (globalThis as any).Deno;
  return new Promise((resolve) => {
    Deno.serve({
      port: 0,
      hostname: HOST,
      onListen: ({ port }: { port: number }) => resolve({ port, ...server }),
    }, (req: Request) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      accept(socket);
      return response;
    });
  });
}

/**
 * `bare` mode: what `serve()` runs per connection besides the peer (the adapter's own route where
 * it has one, as on Bun, else the Hono route; the upgrade guard; the runtime's adapter and its
 * socket), so the profile can tell the peer's share of a connection's memory from the rest. No
 * hub: each socket joins the topic (where the runtime has topics) and gets the current frame, as a
 * raw server's does.
 */
async function bareServer(): Promise<Server> {
  const { Hono } = await import("hono");
  const { loadAdapter } = await import("../src/serve/serve.ts");
  const { guarded, refusal } = await import("../src/serve/upgrade_guard.ts");
  const root = new Hono();
  const adapter = await loadAdapter(root);
  let open = 0;
  let frame = frameOf(0);
  const connected = { receive() {}, detach: () => void open-- };
  const hub = { peers: new Set(), limits: { maxConnections: 1_000_000 } };
  const guard = { connections: () => open };
  const opener = (socket: SocketLike) => {
    open++;
    const group = socket as { subscribe?: (topic: string) => void };
    group.subscribe?.("bench");
    socket.send(frame);
    return connected;
  };
  // As serve() without middleware or `context`: the adapter's own route where it has one.
  adapter.acceptAt?.("/ws/socksync", (request) => refusal(hub, guard, request) ?? opener);
  root.get(
    "/ws/socksync",
    guarded(hub, guard, async (c, next) => {
      // A closure per upgrade, as serve()'s route makes for its context.
      const response = adapter.accept(c, (socket) => opener(socket));
      if (response) return response;
      await next();
    }),
  );
  const listener = await adapter.listen({ port: 0, hostname: HOST });
  return {
    port: listener.port,
    fire(seq) {
      frame = frameOf(seq);
    },
    connections: () => open,
  };
}

/**
 * `list` mode: a 100,000-item memory list (pages of 20) served by SockSync.
 * `fire 1` inserts at 0, `fire 2` deletes at 0, `fire 3` sets the middle item,
 * `fire 4` is the floor: one pre-encoded `set_count` written to every socket.
 */
async function listServer(): Promise<Server> {
  const { Hub } = await import("../src/server/hub.ts");
  const { serve } = await import("../src/serve/serve.ts");
  const { MemoryListSource } = await import("../stores/memory/mod.ts");
  const v = await import("valibot");
  const items = Number(process.env.BENCH_LIST_ITEMS ?? 100_000);
  const source = new MemoryListSource<{ n: number; text: string }>();
  let serial = 0;
  const item = () => ({ n: ++serial, text: `item ${serial}` });
  for (let i = 0; i < items; i++) await source.insert(i, item());
  const hub = new Hub(
    {
      limits: { maxConnections: 1_000_000, idleTimeout: 3_600_000, maxSubscriptions: 1_000 },
    } as ConstructorParameters<typeof Hub>[0],
  );
  const list = hub.list("big", {
    source,
    schema: v.object({ n: v.number(), text: v.string() }),
    maxPageSize: 20,
  });
  const server = await serve({ hub, port: 0, hostname: HOST, onConnect: () => {} });
  const countText = JSON.stringify({
    func: "set_count",
    type: "list",
    name: "big",
    total_item_count: items,
  });
  return {
    port: server.port,
    async fire(op) {
      if (op === 1) await list.insert(0, item());
      else if (op === 2) await list.delete((await source.page(0, 1)).items[0].id);
      else if (op === 3) await list.set((await source.page(items >> 1, 1)).items[0].id, item());
      else for (const peer of hub.peers) peer.socket.send(countText);
    },
    connections: () => server.connections,
  };
}

async function rawNode(): Promise<Server> {
  const { WebSocketServer } = await import("ws");
  const wss = new WebSocketServer({ port: 0, host: HOST });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  let frame = frameOf(0);
  const clients = new Set<import("ws").WebSocket>();
  wss.on("connection", (ws) => {
    clients.add(ws);
    ws.on("message", () => ws.send(frame));
    ws.on("close", () => clients.delete(ws));
  });
  return {
    port: (wss.address() as { port: number }).port,
    fire(seq) {
      frame = frameOf(seq);
      for (const ws of clients) ws.send(frame);
    },
    connections: () => clients.size,
  };
}

function rawDeno(): Promise<Server> {
  let frame = frameOf(0);
  const sockets = new Set<WebSocket>();
  return denoWebSocketServer({
    fire(seq) {
      frame = frameOf(seq);
      for (const socket of sockets) socket.send(frame);
    },
    connections: () => sockets.size,
  }, (socket) => {
    socket.onopen = () => sockets.add(socket);
    socket.onmessage = () => socket.send(frame);
    socket.onclose = () => sockets.delete(socket);
  });
}

function rawBun(): Promise<Server> {
  // deno-lint-ignore no-explicit-any
  const Bun = (globalThis as any).Bun;
  let frame = frameOf(0);
  let count = 0;
  const server = Bun.serve({
    port: 0,
    hostname: HOST,
    // deno-lint-ignore no-explicit-any
    fetch(req: Request, srv: any) {
      if (srv.upgrade(req)) return undefined;
      return new Response("upgrade required", { status: 426 });
    },
    websocket: {
      // deno-lint-ignore no-explicit-any
      open(ws: any) {
        ws.subscribe("bench");
        count++;
      },
      // deno-lint-ignore no-explicit-any
      message(ws: any) {
        ws.send(frame);
      },
      close() {
        count--;
      },
    },
  });
  return Promise.resolve({
    port: server.port,
    fire(seq) {
      frame = frameOf(seq);
      server.publish("bench", frame);
    },
    connections: () => count,
  });
}

async function socketIo(): Promise<Server> {
  const { createServer } = await import("node:http");
  const { Server: IoServer } = await import("socket.io");
  const http = createServer();
  const io = new IoServer(http, { transports: ["websocket"], serveClient: false });
  await new Promise<void>((resolve) => http.listen(0, HOST, () => resolve()));
  return {
    port: (http.address() as { port: number }).port,
    fire(seq) {
      io.emit("set", valueOf(seq));
    },
    connections: () => io.engine.clientsCount,
  };
}

async function main(): Promise<void> {
  let server: Server;
  if (mode === "socksync") server = await socksyncServer();
  else if (mode === "metrics") server = await socksyncServer(true);
  else if (mode === "list") server = await listServer();
  else if (mode === "native") server = await nativeDenoServer();
  else if (mode === "bare") server = await bareServer();
  else if (mode === "socketio") server = await socketIo();
  else if (mode === "ws") server = await rawNode();
  else if (rt === "deno") server = await rawDeno();
  else if (rt === "bun") server = await rawBun();
  else server = await rawNode();
  let mark = cpuMicros();
  const out = (line: string) => process.stdout.write(line + "\n");
  const lines = createInterface({ input: process.stdin });
  lines.on("line", async (line) => {
    const [cmd, arg] = line.trim().split(" ");
    if (cmd === "fire") {
      await server.fire(Number(arg));
    } else if (cmd === "mark") {
      mark = cpuMicros();
      out("MARK");
    } else if (cmd === "cpu") {
      out(`CPU ${cpuMicros() - mark}`);
    } else if (cmd === "mem") {
      await fullGc();
      const m = process.memoryUsage();
      out(`MEM ${m.rss} ${m.heapUsed} ${server.connections()}`);
    } else if (cmd === "parts") {
      await fullGc();
      out(`PARTS ${JSON.stringify(await memoryParts())}`);
    } else if (cmd === "snap") {
      // A heap snapshot for the profile of idle memory: V8's on Node; on Bun, JSC's summed by
      // class name (`{ "bun": { name: [bytes, count] } }`), its own format being much larger.
      await fullGc();
      const bun = (globalThis as { Bun?: { generateHeapSnapshot(): BunSnapshot } }).Bun;
      if (bun) {
        const fs = await import("node:fs");
        fs.writeFileSync(arg, JSON.stringify({ bun: bunSummary(bun.generateHeapSnapshot()) }));
        out(`SNAP ${arg}`);
      } else {
        const v8 = await import("node:v8");
        out(`SNAP ${v8.writeHeapSnapshot(arg)}`);
      }
    } else if (cmd === "quit") {
      process.exit(0);
    }
  });
  lines.on("close", () => process.exit(0));
  out(`READY ${server.port}`);
}

/**
 * What the RSS is made of, for the profile of idle memory (bench/profile_idle.ts --parts): the
 * JS heap (used and, on Bun, its capacity), Bun's malloc (mimalloc, which also holds JSC's heap
 * blocks and JIT data), and from /proc/self/smaps (Linux) the resident pages of the runtime's
 * own machine code (`code`: file-backed executable mappings, paged in as code paths first run),
 * of JIT code (`jit`: anonymous executable), of other anonymous and other file-backed memory.
 */
async function memoryParts(): Promise<Record<string, number>> {
  const parts: Record<string, number> = {
    rss: process.memoryUsage().rss,
    heapUsed: process.memoryUsage().heapUsed,
  };
  if ((globalThis as { Bun?: unknown }).Bun) {
    const jsc = await import("bun:jsc") as unknown as {
      heapStats(): { heapCapacity: number; mimalloc?: { malloc_normal?: { current: number } } };
    };
    const stats = jsc.heapStats();
    parts.heapCapacity = stats.heapCapacity;
    if (stats.mimalloc?.malloc_normal) parts.malloc = stats.mimalloc.malloc_normal.current;
  }
  let smaps: string[];
  try {
    smaps = (await import("node:fs")).readFileSync("/proc/self/smaps", "utf8").split("\n");
  } catch {
    return parts;
  }
  let kind = "";
  for (const line of smaps) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const [, perms, name] = head;
      const file = name.startsWith("/");
      kind = perms.includes("x")
        ? (file ? "code" : name ? "other" : "jit")
        : file
        ? "file"
        : "anon";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) parts[kind] = (parts[kind] ?? 0) + Number(rss[1]) * 1024;
  }
  return parts;
}

interface BunSnapshot {
  nodes: number[];
  nodeClassNames: string[];
}

/** Bytes and count of JSC heap cells by class name (a JSC snapshot node is id, size, class, flags). */
function bunSummary(snap: BunSnapshot): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (let i = 0; i < snap.nodes.length; i += 4) {
    const entry = out[snap.nodeClassNames[snap.nodes[i + 2]]] ??= [0, 0];
    entry[0] += snap.nodes[i + 1];
    entry[1]++;
  }
  return out;
}

await main();
