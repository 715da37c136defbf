/**
 * The served half of `bench/tables.ts`: the demo's chat list (`messages`, params
 * `{ room }`) on a hub served on loopback, N views spread over 1,000 rooms, clients in
 * this process. Measures the CPU of one row change (written on another connection,
 * flushed, until the touched views' frames arrived) and the time from an unflushed
 * external INSERT to the subscriber's `insert` frame.
 */
import process from "node:process";
import { Hono } from "hono";
import { Hub } from "../mod.ts";
import { serve } from "../src/serve/serve.ts";
import { changeWatcher } from "../stores/sqlite/changes.ts";
import { openSqliteDriver, type SqliteDriver } from "../stores/sqlite/driver.ts";
import { addChat } from "../demo/chat.ts";
import { sqliteChat } from "../demo/chat_sqlite.ts";
import { webSocketClass } from "../tests/helpers/raw_socket.ts";

type Frame = Record<string, unknown>;

/** Options of {@linkcode servedViews}. */
export interface ServedOptions {
  sizes: number[];
  rounds: number;
  changes: number;
  fresh(rows: number, rooms: number): Promise<{ db: SqliteDriver; path: string }>;
}

const ROOMS = 1000;

class Socket {
  readonly waiters = new Set<(frame: Frame) => boolean>();
  setAll = 0;
  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      const frame = JSON.parse(String((event as MessageEvent).data)) as Frame;
      if (frame.func === "set_all") this.setAll++;
      for (const waiter of [...this.waiters]) if (waiter(frame)) this.waiters.delete(waiter);
    });
  }
  static async open(url: string): Promise<Socket> {
    const WS = await webSocketClass();
    const ws = new WS(url);
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve);
      ws.addEventListener("error", reject);
    });
    return new Socket(ws);
  }
  subscribe(room: string): void {
    this.ws.send(JSON.stringify({
      func: "subscribe",
      type: "list",
      name: "messages",
      page: 0,
      page_size: 20,
      params: { room },
    }));
  }
  /** Resolves with the first frame that matches, from now on. */
  next(match: (frame: Frame) => boolean): Promise<Frame> {
    return new Promise((resolve) =>
      this.waiters.add((frame) => match(frame) ? (resolve(frame), true) : false)
    );
  }
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** CPU ms per change by `N:touched`, and external INSERT → frame delays in ms. */
export async function servedViews(
  options: ServedOptions,
): Promise<{ cpu: Map<string, number[]>; delays: number[] }> {
  const { db, path } = await options.fresh(100_000, ROOMS);
  const other = await openSqliteDriver(path);
  other.exec("PRAGMA busy_timeout = 5000");
  const hub = new Hub({
    limits: { messageRate: Infinity, maxSubscriptions: Infinity, maxConnections: Infinity },
  });
  addChat(hub, sqliteChat(db));
  const server = await serve({ hub, app: new Hono(), port: 0, hostname: "127.0.0.1" });
  const url = `ws://127.0.0.1:${server.port}/ws/socksync`;
  const sockets: Socket[] = [];
  // Sockets holding a view of r0 (the touched views), and the rest over r1 … r999.
  const touched: Socket[] = [];
  let views = 0;
  let spread = 0;
  const addView = async (room?: string) => {
    if (room === "r0") {
      const socket = await Socket.open(url);
      sockets.push(socket);
      touched.push(socket);
      socket.subscribe("r0");
    } else {
      const slot = spread++;
      const at = Math.floor(slot / (ROOMS - 1));
      if (at >= sockets.length - touched.length) sockets.push(await Socket.open(url));
      const socket = sockets.filter((s) => !touched.includes(s))[at];
      socket.subscribe(`r${1 + (slot % (ROOMS - 1))}`);
    }
    views++;
  };
  const loaded = () => sockets.reduce((n, s) => n + s.setAll, 0) >= views;
  let n = 0;
  const edit = other.prepare("UPDATE messages SET text = ?, created_at = ? WHERE id = ?");
  const cpu = new Map<string, number[]>();
  const measure = async (label: string) => {
    // Round −1 warms up (JIT, page cache) and is not kept.
    for (let r = -1; r < options.rounds; r++) {
      let spent = 0;
      for (let i = 0; i < options.changes; i++) {
        n++;
        const t = cpuMs();
        const arrived = touched.map((s) => s.next((f) => f.func === "insert" && f.index === 0));
        edit.run(`t${n}`, 1_800_000_000_000 + n, `m${String((n % 100) * 1000).padStart(7, "0")}`);
        changeWatcher(db).flush();
        await Promise.all(arrived);
        spent += cpuMs() - t;
      }
      if (r >= 0) (cpu.get(label) ?? cpu.set(label, []).get(label)!).push(spent / options.changes);
    }
  };
  const delays: number[] = [];
  try {
    await addView("r0");
    for (const size of options.sizes) {
      while (views < size) await addView();
      await until(loaded, `${size} views`);
      await measure(`${size}:1`);
    }
    for (let k = 1; k < 10; k++) await addView("r0");
    await until(loaded, "the touched views");
    await measure(`${options.sizes.at(-1)}:10`);

    // Latency: one more view, of a room of its own, and inserts nobody flushes.
    const watcher = await Socket.open(url);
    sockets.push(watcher);
    watcher.subscribe("latency");
    await until(() => watcher.setAll > 0, "the latency view");
    const insert = other.prepare("INSERT INTO messages VALUES (?, 'latency', 'ext', 'hi', ?)");
    const count = options.changes * 2;
    for (let i = 0; i < count; i++) {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 120));
      const id = `x${i}`;
      const arrived = watcher.next((f) => f.func === "insert" && f.id === id);
      insert.run(id, 2_000_000_000_000 + i);
      const t = performance.now();
      await arrived;
      delays.push(performance.now() - t);
    }
  } finally {
    for (const socket of sockets) socket.ws.close();
    await server.close();
    await hub.close();
    other.close();
    changeWatcher(db).close();
    db.close();
  }
  return { cpu, delays };
}
