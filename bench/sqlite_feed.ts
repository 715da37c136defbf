/**
 * The SQLite store's change feed across processes:
 *
 * 1. Latency: a demo server (`SOCKSYNC_STORE=sqlite:FILE`, its own process, on the
 *    runtime chosen) has one WebSocket subscriber here, to the `todos` list and the
 *    `counter` var. This process writes the same file through its own SQLite store
 *    (another process, as far as the server knows), at random moments 20–60 ms apart:
 *    one insert at index 0 (deleted again after it arrived, so the page stays short) and
 *    one var set per sample. Each is timed from the write's start to the arrival of its
 *    frame on the subscriber: the server notices other connections' commits with a
 *    check every 100 ms, so the expected median is about 50 ms plus the frame's trip.
 * 2. Idle CPU: with that subscriber connected and nothing written, the CPU the server
 *    process uses per minute (from /proc, Linux), next to the same server on the memory
 *    store (no feed to poll); the CPU a bare store in this process spends per minute with
 *    one list and one var listener subscribed, next to the same minute with none (three
 *    alternating windows each, medians); and the check alone, timed in a loop, × 600.
 *
 *   node --import tsx bench/sqlite_feed.ts [--server node|deno|bun] [--samples 300] [--idle 20]
 *
 * Prints p50/p99 (ms) per path and the CPU figures (ms of CPU per minute).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { openSqliteStore } from "../stores/sqlite/mod.ts";
import { CHANGE_LOG_SQL } from "../stores/sqlite/change_log.ts";
import { openSqliteDriver } from "../stores/sqlite/driver.ts";
import { type SpawnedServer, spawnServer } from "../tests/helpers/spawn_server.ts";
import { webSocketClass } from "../tests/helpers/raw_socket.ts";
import { args, fmt, machine, type Runtime, stats, table } from "./lib.ts";

const opts = args();
const SERVER = (opts.get("server") ?? "node") as Runtime;
const SAMPLES = Number(opts.get("samples") ?? 300);
const IDLE_SECONDS = Number(opts.get("idle") ?? 20);
const WARMUP = 20;
const ROUNDS = 3;

type Frame = Record<string, unknown>;

/** A WebSocket whose frames are handed to one waiting predicate, timestamped on arrival. */
class Socket {
  #waiter: { match: (f: Frame) => boolean; done: (at: number) => void } | undefined;
  /** The last frames received, for the message of a frame that never came. */
  readonly recent: Frame[] = [];
  constructor(readonly socket: WebSocket) {
    socket.addEventListener("message", (event) => {
      const at = performance.now();
      const frame = JSON.parse(String((event as MessageEvent).data)) as Frame;
      this.recent.push(frame);
      if (this.recent.length > 8) this.recent.shift();
      // The server's heartbeat probe: answered as any conforming peer does.
      if (frame.func === "get" && frame.name === "socksync:probe") {
        this.send({
          func: "error",
          type: "var",
          name: "socksync:probe",
          error_code: 3,
          message: "unknown var",
        });
      }
      if (this.#waiter?.match(frame)) {
        const { done } = this.#waiter;
        this.#waiter = undefined;
        done(at);
      }
    });
  }

  static async open(url: string): Promise<Socket> {
    const WS = await webSocketClass();
    const socket = new WS(url);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve());
      socket.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)));
    });
    return new Socket(socket);
  }

  /** Resolves the arrival time of the next frame matching `match`. */
  next(match: (f: Frame) => boolean, timeoutMs = 10_000): Promise<number> {
    const arrival = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no frame in time; last: ${JSON.stringify(this.recent)}`)),
        timeoutMs,
      );
      this.#waiter = {
        match,
        done: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
    });
    arrival.catch(() => {});
    return arrival;
  }

  send(frame: Frame): void {
    this.socket.send(JSON.stringify(frame));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** CPU time (user + system) of a process so far, in ms, from /proc (Linux). */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10; // USER_HZ is 100 on Linux
}

/** A subscriber of `todos` (page 0) and `counter` on a server. */
async function subscriber(url: string): Promise<Socket> {
  const socket = await Socket.open(url);
  const counter = socket.next((f) => f.func === "set" && f.name === "counter");
  socket.send({ func: "subscribe", type: "var", name: "counter" });
  await counter;
  const page = socket.next((f) => f.func === "set_all");
  socket.send({ func: "subscribe", type: "list", name: "todos", page_size: 10 });
  await page;
  return socket;
}

/** CPU per minute of a server process with one subscriber and nothing written. */
async function serverIdleCpu(server: SpawnedServer): Promise<number> {
  const socket = await subscriber(server.wsUrl);
  try {
    await pause(2000);
    const start = processCpuMs(server.process.pid!);
    await pause(IDLE_SECONDS * 1000);
    return (processCpuMs(server.process.pid!) - start) / IDLE_SECONDS * 60;
  } finally {
    socket.socket.close();
  }
}

/** CPU per minute of this process over `seconds` of doing nothing but what `setup` started. */
async function ownIdleCpu(setup: () => () => void): Promise<number> {
  const stop = setup();
  try {
    await pause(1000);
    const start = process.cpuUsage();
    await pause(IDLE_SECONDS * 1000);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000 / IDLE_SECONDS * 60;
  } finally {
    stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), "socksync-feed-bench-"));
const path = join(dir, "bench.db");
const servers: SpawnedServer[] = [];
try {
  const server = await spawnServer({ runtime: SERVER, env: { SOCKSYNC_STORE: `sqlite:${path}` } });
  servers.push(server);
  const store = await openSqliteStore({ path });
  const todos = store.list<{ text: string; done: boolean }>("todos");
  const sub = await subscriber(server.wsUrl);
  const lists: number[] = [];
  const vars: number[] = [];
  for (let n = -WARMUP; n < SAMPLES; n++) {
    await pause(20 + Math.random() * 40);
    const id = `bench-${n}`;
    const inserted = sub.next((f) => f.func === "insert" && f.id === id);
    let t0 = performance.now();
    await todos.insert(0, { text: `sample ${n}`, done: false }, id);
    const listAt = await inserted;
    await pause(20 + Math.random() * 40);
    const set = sub.next((f) => f.func === "set" && f.name === "counter" && f.value === n);
    const t1 = performance.now();
    await store.vars.set("counter", n);
    const varAt = await set;
    if (n >= 0) {
      lists.push(listAt - t0);
      vars.push(varAt - t1);
    }
    const deleted = sub.next((f) => f.func === "delete" && f.id === id);
    t0 = performance.now();
    await todos.delete(id);
    await deleted;
  }
  sub.socket.close();
  await store.close();

  const sqliteServerCpu = await serverIdleCpu(server);
  await server.stop();
  servers.length = 0;
  const memory = await spawnServer({ runtime: SERVER, env: { SOCKSYNC_STORE: "memory" } });
  servers.push(memory);
  const memoryServerCpu = await serverIdleCpu(memory);
  await memory.stop();
  servers.length = 0;

  const own = await openSqliteStore({ path });
  await own.list("todos").count();
  // Alternating windows, so both see the same background load; medians reported.
  const none: number[] = [];
  const subscribed: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    none.push(await ownIdleCpu(() => () => {}));
    subscribed.push(
      await ownIdleCpu(() => {
        const stops = [own.list("todos").subscribe(() => {}), own.vars.subscribe(() => {})];
        return () => stops.forEach((stop) => stop());
      }),
    );
  }
  await own.close();
  // The check itself, timed alone: what 600 checks a minute cost without the timer.
  const probe = await openSqliteDriver(path);
  const check = probe.prepare(CHANGE_LOG_SQL.stamp);
  for (let i = 0; i < 1000; i++) check.get();
  const started = performance.now();
  for (let i = 0; i < 20_000; i++) check.get();
  const checkUs = (performance.now() - started) / 20;
  probe.close();

  console.log(`\nSQLite change feed across processes, ${machine()}`);
  console.log(`server on ${SERVER}, ${SAMPLES} samples, idle windows of ${IDLE_SECONDS} s\n`);
  console.log(table(["write in this process → frame from the server", "p50 ms", "p99 ms"], [
    ["list insert → `insert` frame", fmt(percentile(lists, 0.5)), fmt(percentile(lists, 0.99))],
    ["var set → `set` frame", fmt(percentile(vars, 0.5)), fmt(percentile(vars, 0.99))],
  ]));
  console.log();
  console.log(table(["idle, one subscriber", "CPU ms per minute"], [
    ["demo server, SQLite store", fmt(sqliteServerCpu)],
    ["demo server, memory store", fmt(memoryServerCpu)],
    ["bare SQLite store, list + var listener (median)", fmt(stats(subscribed).median)],
    ["bare SQLite store, no listener (median)", fmt(stats(none).median)],
    [`the check alone (${fmt(checkUs)} µs) × 600 per minute`, fmt(checkUs * 600 / 1000)],
  ]));
} catch (error) {
  for (const server of servers) console.error(server.output());
  throw error;
} finally {
  for (const server of servers) await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
