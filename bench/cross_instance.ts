/**
 * Cross-instance propagation latency (issue #5): how long a change made
 * through one server instance takes to reach a subscriber of another
 * instance on the same Redis, next to the same change reaching a subscriber
 * of the instance that made it, and next to a raw Redis PUBLISH → message
 * round trip (the floor any Redis-based fan-out pays).
 *
 * Two demo servers (`demo/server.ts`, `SOCKSYNC_STORE=redis://…`) run as
 * their own processes, on the runtimes chosen (default: A and B on Node).
 * This process holds a subscriber on A, a subscriber on B and four callers on
 * A taking turns (the demo allows 100 messages per second per connection).
 * Each sample, 10 ms after the last, is one call on A (`increment` for the
 * var, `add_todo` at index 0 for the list; each added todo is deleted again
 * before the next sample, so the page stays short and every insert is one
 * frame), timed from sending the call to the arrival of the change frame on
 * each subscriber: both subscribers are measured on the same change, side by
 * side. After each sample, one raw PUBLISH is timed to its message on a
 * second Redis connection. The benchmark starts its own redis-server on a
 * free port unless given `--redis URL` (keys then go under `socksync:`).
 *
 *   node --import tsx bench/cross_instance.ts [--a node] [--b bun] [--samples 500] [--redis redis://127.0.0.1:6379/15]
 *
 * Prints p50/p99 (ms) per path and the ratios cross/same and cross/raw.
 */
import { startRedis } from "../tests/helpers/stores.ts";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { Redis } from "ioredis";
import { args, fmt, machine, ROOT, type Runtime, table } from "./lib.ts";

const opts = args();
const RUNTIME_A = (opts.get("a") ?? "node") as Runtime;
const RUNTIME_B = (opts.get("b") ?? "node") as Runtime;
const SAMPLES = Number(opts.get("samples") ?? 500);
/** Callers taking turns: each connection stays under the demo's 100 messages/s limit. */
const CALLERS = 4;
/** Pause between samples, so each change is measured alone, not queued behind the last. */
const PAUSE_MS = 10;
const WARMUP = Math.min(100, Math.ceil(SAMPLES / 5));

type Frame = Record<string, unknown>;

function bin(name: string): string {
  const local = join(ROOT, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
}

function command(runtime: Runtime): string[] {
  switch (runtime) {
    case "deno":
      return [bin("deno"), "run", "-A", "demo/server.ts"];
    case "bun":
      return [bin("bun"), "demo/start.mjs"];
    default:
      return ["node", "demo/start.mjs"];
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Starts a process and resolves once its output matches `ready`. */
function start(
  argv: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(argv[0], argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${argv.join(" ")} did not start:\n${output}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (!match) return;
      clearTimeout(timer);
      resolve({ child, match });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(" ")} exited with ${code}:\n${output}`));
    });
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(killer);
}

async function webSocketClass(): Promise<typeof WebSocket> {
  if (typeof globalThis.WebSocket === "function") return globalThis.WebSocket;
  return (await import("ws")).WebSocket as unknown as typeof WebSocket;
}

/** A WebSocket whose frames are handed to one waiting predicate, timestamped on arrival. */
class Socket {
  #waiter: { match: (f: Frame) => boolean; done: (at: number, frame: Frame) => void } | undefined;
  constructor(readonly socket: WebSocket) {
    socket.addEventListener("message", (event) => {
      const at = performance.now();
      const frame = JSON.parse(String((event as MessageEvent).data)) as Frame;
      if (this.#waiter?.match(frame)) {
        const { done } = this.#waiter;
        this.#waiter = undefined;
        done(at, frame);
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

  /**
   * Resolves the next frame matching `match` with its arrival time. One
   * waiter at a time: frames nobody waits for are dropped.
   */
  next(match: (f: Frame) => boolean, timeoutMs = 10_000): Promise<{ at: number; frame: Frame }> {
    const arrival = new Promise<{ at: number; frame: Frame }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no frame in time")), timeoutMs);
      this.#waiter = {
        match,
        done: (at, frame) => {
          clearTimeout(timer);
          resolve({ at, frame });
        },
      };
    });
    // A failure surfaces where it is awaited; one never awaited must not end
    // the process before the servers are stopped.
    arrival.catch(() => {});
    return arrival;
  }

  send(frame: Frame): void {
    this.socket.send(JSON.stringify(frame));
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

const children: ChildProcess[] = [];
let publisher: Redis | undefined;
let listener: Redis | undefined;
const sockets: Socket[] = [];
try {
  let url = opts.get("redis");
  if (!url) {
    const port = await freePort();
    children.push(await startRedis(port));
    url = `redis://127.0.0.1:${port}`;
  }
  const servers = await Promise.all([RUNTIME_A, RUNTIME_B].map(async (runtime) => {
    const { child, match } = await start(
      command(runtime),
      { PORT: "0", HOST: "127.0.0.1", SOCKSYNC_STORE: url! },
      /listening on http:\/\/127\.0\.0\.1:(\d+)/,
    );
    children.push(child);
    return `ws://127.0.0.1:${match[1]}/ws/socksync`;
  }));
  const [sameSub, crossSub, ...callers] = await Promise.all([
    Socket.open(servers[0]),
    Socket.open(servers[1]),
    ...Array.from({ length: CALLERS }, () => Socket.open(servers[0])),
  ]);
  sockets.push(sameSub, crossSub, ...callers);
  let caller = callers[0];
  for (const sub of [sameSub, crossSub]) {
    const ready = sub.next((f) => f.func === "set" && f.name === "counter");
    sub.send({ func: "subscribe", type: "var", name: "counter" });
    await ready;
    const page = sub.next((f) => f.func === "set_all");
    sub.send({ func: "subscribe", type: "list", name: "todos", page_size: 10 });
    await page;
  }
  publisher = new Redis(url);
  listener = new Redis(url);
  await listener.subscribe("bench:raw");
  let rawWaiter: ((at: number) => void) | undefined;
  listener.on("message", () => {
    const at = performance.now();
    rawWaiter?.(at);
    rawWaiter = undefined;
  });

  let callId = 0;
  /** Sends a call on A and resolves its result (throws on an error frame). */
  const call = async (name: string, args?: unknown): Promise<unknown> => {
    const id = `b${callId++}`;
    const reply = caller.next((f) => f.id === id && (f.func === "return" || f.func === "error"));
    caller.send({
      func: "call",
      type: "function",
      name,
      id,
      ...(args === undefined ? {} : { args }),
    });
    const { frame } = await reply;
    if (frame.func === "error") throw new Error(`${name}: ${JSON.stringify(frame)}`);
    return frame.value;
  };

  const results: Record<string, number[]> = {
    "var: same instance": [],
    "var: other instance": [],
    "list: same instance": [],
    "list: other instance": [],
    "raw Redis PUBLISH → message": [],
  };
  for (let n = -WARMUP; n < SAMPLES; n++) {
    const keep = n >= 0;
    caller = callers[(n + WARMUP) % CALLERS];
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    // Var: one increment (a compare-and-set script on A, then pub/sub to B).
    {
      const isCounter = (f: Frame) => f.func === "set" && f.name === "counter";
      const same = sameSub.next(isCounter);
      const cross = crossSub.next(isCounter);
      const t0 = performance.now();
      const reply = call("increment");
      const [a, b] = await Promise.all([same, cross]);
      await reply;
      if (keep) {
        results["var: same instance"].push(a.at - t0);
        results["var: other instance"].push(b.at - t0);
      }
    }
    // List: insert at 0, then delete it again (not timed).
    {
      const isInsert = (f: Frame) => f.func === "insert" && f.name === "todos";
      const same = sameSub.next(isInsert);
      const cross = crossSub.next(isInsert);
      const t0 = performance.now();
      const reply = call("add_todo", { text: "x" });
      const [a, b] = await Promise.all([same, cross]);
      const { id } = await reply as { id: string };
      if (keep) {
        results["list: same instance"].push(a.at - t0);
        results["list: other instance"].push(b.at - t0);
      }
      const isDelete = (f: Frame) => f.func === "delete" && f.name === "todos";
      const gone = [sameSub.next(isDelete), crossSub.next(isDelete)];
      await call("delete_todo", { id });
      await Promise.all(gone);
    }
    // Raw Redis: PUBLISH on one connection, message on another.
    {
      const arrived = new Promise<number>((resolve) => rawWaiter = resolve);
      const t0 = performance.now();
      await publisher.publish("bench:raw", "x".repeat(100));
      const at = await arrived;
      if (keep) results["raw Redis PUBLISH → message"].push(at - t0);
    }
  }

  const p = (name: string, q: number) => percentile(results[name], q);
  const rows = Object.keys(results).map((name) => [
    name,
    fmt(p(name, 0.5)),
    fmt(p(name, 0.99)),
  ]);
  const ratio = (a: string, b: string, q: number) => fmt(p(a, q) / p(b, q));
  console.log(
    `\nCross-instance propagation, ${SAMPLES} samples (after ${WARMUP} warm-up), A=${RUNTIME_A} B=${RUNTIME_B}, Redis ${url}`,
  );
  console.log(machine());
  console.log(`\n${table(["path (call sent → frame received)", "p50 ms", "p99 ms"], rows)}\n`);
  console.log(table(["ratio", "p50", "p99"], [
    [
      "var: other / same instance",
      ratio("var: other instance", "var: same instance", 0.5),
      ratio("var: other instance", "var: same instance", 0.99),
    ],
    [
      "list: other / same instance",
      ratio("list: other instance", "list: same instance", 0.5),
      ratio("list: other instance", "list: same instance", 0.99),
    ],
    [
      "var: other instance / raw Redis",
      ratio("var: other instance", "raw Redis PUBLISH → message", 0.5),
      ratio("var: other instance", "raw Redis PUBLISH → message", 0.99),
    ],
    [
      "list: other instance / raw Redis",
      ratio("list: other instance", "raw Redis PUBLISH → message", 0.5),
      ratio("list: other instance", "raw Redis PUBLISH → message", 0.99),
    ],
  ]));
} finally {
  for (const s of sockets) s.socket.close();
  publisher?.disconnect();
  listener?.disconnect();
  for (const child of children.reverse()) await stop(child);
}
