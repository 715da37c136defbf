/**
 * Chat latency across instances over PostgreSQL: two demo servers (A and B,
 * `SOCKSYNC_STORE=postgres://…`, a fresh database created on the server given
 * and dropped at the end) share the `messages` table. Each sample is one
 * `post_message` on A, timed from sending the call to the `insert` frame on a
 * view of the room held on B (cross) and on A (same); interleaved with it,
 * the baseline: one `add_todo` on A, timed to the insert frame of a todos
 * view on B (the store's own change feed over the same database). Samples
 * are 10 ms apart, calls spread over callers under the demo's rate limit.
 *
 *   node --import tsx bench/chat_cross_instance.ts [--a node] [--b node] [--samples 100] [--postgres URL]
 *
 * Prints p50/p99 (ms) per path and the ratios to the baseline.
 */
import process from "node:process";
import { openPgClient } from "../stores/postgres/driver.ts";
import { webSocketClass } from "../tests/helpers/raw_socket.ts";
import { type SpawnedServer, spawnServer } from "../tests/helpers/spawn_server.ts";
import { args, fmt, machine, type Runtime, table } from "./lib.ts";

const opts = args();
const RUNTIME_A = (opts.get("a") ?? "node") as Runtime;
const RUNTIME_B = (opts.get("b") ?? "node") as Runtime;
const SAMPLES = Number(opts.get("samples") ?? 100);
const POSTGRES = opts.get("postgres") ?? "postgres://postgres@127.0.0.1:5432/postgres";
const CALLERS = 4;
const PAUSE_MS = 10;
const WARMUP = 20;
const ROOM = "bench";

type Frame = Record<string, unknown>;

/** A WebSocket whose frames are offered to waiters as they arrive. */
class Socket {
  readonly waiters = new Set<(frame: Frame) => boolean>();
  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      const frame = JSON.parse(String((event as MessageEvent).data)) as Frame;
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
  send(frame: Frame): void {
    this.ws.send(JSON.stringify(frame));
  }
  next(match: (frame: Frame) => boolean): Promise<Frame> {
    return new Promise((resolve) =>
      this.waiters.add((frame) => match(frame) ? (resolve(frame), true) : false)
    );
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

const admin = await openPgClient(POSTGRES, { max: 1, onnotice: () => {} });
const name = `socksync_bench_chat_${process.pid}`;
await admin.unsafe(`CREATE DATABASE "${name}"`);
const url = new URL(POSTGRES);
url.pathname = `/${name}`;
const servers: SpawnedServer[] = [];
const sockets: Socket[] = [];
try {
  for (const runtime of [RUNTIME_A, RUNTIME_B]) {
    servers.push(await spawnServer({ runtime, env: { SOCKSYNC_STORE: url.href } }));
  }
  const [a, b] = servers;
  const viewA = await Socket.open(a.wsUrl);
  const viewB = await Socket.open(b.wsUrl);
  const callers = await Promise.all(
    Array.from({ length: CALLERS }, () => Socket.open(a.wsUrl)),
  );
  sockets.push(viewA, viewB, ...callers);
  const params = { room: ROOM };
  for (const [socket, list] of [[viewA, "messages"], [viewB, "messages"], [viewB, "todos"]]) {
    const ready = (socket as Socket).next((f) => f.func === "set_all" && f.name === list);
    (socket as Socket).send({
      func: "subscribe",
      type: "list",
      name: list,
      page_size: 10,
      ...(list === "messages" ? { params } : {}),
    });
    await ready;
  }
  const results = {
    chatCross: [] as number[],
    chatSame: [] as number[],
    todoCross: [] as number[],
  };
  let n = 0;
  const call = (name: string, callArgs: unknown) => {
    const socket = callers[n % CALLERS];
    socket.send({ func: "call", type: "function", name, id: `c${n++}`, args: callArgs });
  };
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const text = `m${i}`;
    const isChat = (f: Frame) =>
      f.func === "insert" && f.name === "messages" && (f.value as { text?: string }).text === text;
    const start = performance.now();
    const timed = (p: Promise<Frame>) => p.then(() => performance.now() - start);
    const chat = Promise.all([timed(viewB.next(isChat)), timed(viewA.next(isChat))]);
    call("post_message", { room: ROOM, text });
    const [cross, same] = await chat;
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    const todo = `t${i}`;
    const begin = performance.now();
    const arrived = viewB.next((f) =>
      f.func === "insert" && f.name === "todos" && (f.value as { text?: string }).text === todo
    );
    call("add_todo", { text: todo });
    await arrived;
    const todoCross = performance.now() - begin;
    if (i >= WARMUP) {
      results.chatCross.push(cross);
      results.chatSame.push(same);
      results.todoCross.push(todoCross);
    }
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
  }
  const base50 = percentile(results.todoCross, 0.5);
  const base99 = percentile(results.todoCross, 0.99);
  const row = (label: string, values: number[]) => {
    const p50 = percentile(values, 0.5);
    const p99 = percentile(values, 0.99);
    return [label, fmt(p50), fmt(p99), fmt(p50 / base50), fmt(p99 / base99)];
  };
  console.log(machine());
  console.log(
    `A on ${RUNTIME_A}, B on ${RUNTIME_B}, ${SAMPLES} samples each (after ${WARMUP} warm-up), interleaved\n`,
  );
  console.log(table(["path", "p50 ms", "p99 ms", "p50 ÷ baseline", "p99 ÷ baseline"], [
    row("post_message on A → insert on B (chat, table trigger)", results.chatCross),
    row("post_message on A → insert on A (chat, table trigger)", results.chatSame),
    row("baseline: add_todo on A → insert on B (store feed)", results.todoCross),
  ]));
} finally {
  for (const socket of sockets) socket.ws.close();
  await Promise.all(servers.map((server) => server.stop()));
  await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end({ timeout: 1 });
}
