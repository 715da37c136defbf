/**
 * Load-side helpers (Node only): a server process driven over stdin/stdout
 * (`bench/fanout_server.ts`) pinned to one core, and pools of WebSocket or
 * Socket.IO clients that count the frames they receive.
 */
import { type ChildProcess, execSync, spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { ROOT, type Runtime } from "./lib.ts";

export const SERVER_CORE = "0";
export const CLIENT_CORE = "1";

/** Pins this process (all threads) to the client core and raises its fd limit. */
export function prepareLoadProcess(): void {
  try {
    execSync(`prlimit --pid ${process.pid} --nofile=65536:65536`, { stdio: "ignore" });
  } catch { /* not root: keep the limit */ }
  if (!process.env.BENCH_NO_PIN) {
    try {
      execSync(`taskset -a -p -c ${CLIENT_CORE} ${process.pid}`, { stdio: "ignore" });
    } catch { /* no taskset */ }
  }
}

export function runtimeCommand(rt: Runtime, script: string, extra: string[]): string[] {
  const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);
  if (rt === "deno") {
    return [bin("deno"), "run", "-A", "--v8-flags=--expose-gc", script, ...extra];
  }
  if (rt === "bun") return [bin("bun"), script, ...extra];
  return [process.execPath, "--expose-gc", "--import", "tsx", script, ...extra];
}

/** A benchmark server in its own process on the server core. */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly name: string;
  port = 0;
  #waiters: { prefix: string; resolve: (line: string) => void }[] = [];
  #exited: Promise<number | null>;
  stderr = "";

  constructor(name: string, argv: string[]) {
    this.name = name;
    const pinned = process.env.BENCH_NO_PIN ? argv : ["taskset", "-c", SERVER_CORE, ...argv];
    this.child = spawn(pinned[0], pinned.slice(1), {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      const i = this.#waiters.findIndex((w) => line.startsWith(w.prefix));
      if (i >= 0) this.#waiters.splice(i, 1)[0].resolve(line);
    });
    this.child.stderr!.on("data", (d) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.#exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  static async start(name: string, argv: string[], timeout = 60_000): Promise<ServerProcess> {
    const server = new ServerProcess(name, argv);
    const line = await Promise.race([
      server.expect("READY", timeout),
      server.#exited.then((code) => {
        throw new Error(`${name} exited with ${code}: ${server.stderr}`);
      }),
    ]);
    server.port = Number(line.split(" ")[1]);
    return server;
  }

  expect(prefix: string, timeout = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`${this.name}: no ${prefix} within ${timeout} ms; stderr: ${this.stderr}`),
        );
      }, timeout);
      this.#waiters.push({
        prefix,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  send(line: string): void {
    this.child.stdin!.write(line + "\n");
  }

  async ask(line: string, prefix: string, timeout?: number): Promise<string[]> {
    const answer = this.expect(prefix, timeout);
    this.send(line);
    return (await answer).split(" ").slice(1);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.send("quit");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** Clients of one server that count what they receive. */
export interface Pool {
  readonly kind: string;
  readonly size: number;
  grow(n: number): Promise<void>;
  /** Resolves once `count` more frames arrived (or rejects after `timeout`). */
  expect(count: number, timeout?: number): Promise<void>;
  close(): Promise<void>;
}

abstract class Counting {
  received = 0;
  #target = Infinity;
  #done: (() => void) | undefined;
  tick(): void {
    if (++this.received >= this.#target) {
      this.#target = Infinity;
      this.#done?.();
    }
  }
  expect(count: number, timeout = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${this.received - (this.#target - count)}/${count} frames`)),
        timeout,
      );
      this.#target = this.received + count;
      this.#done = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

async function inBatches(n: number, batch: number, open: () => Promise<void>): Promise<void> {
  for (let done = 0; done < n;) {
    const k = Math.min(batch, n - done);
    await Promise.all(Array.from({ length: k }, open));
    done += k;
  }
}

/** `ws` clients; each sends `hello` once open and waits for the first frame (the current value). */
export class WsPool extends Counting implements Pool {
  readonly kind = "ws";
  readonly sockets: WebSocket[] = [];
  constructor(readonly url: string, readonly hello: string | ((i: number) => string)) {
    super();
  }
  get size(): number {
    return this.sockets.length;
  }
  grow(n: number): Promise<void> {
    let opened = this.sockets.length;
    return inBatches(n - this.sockets.length, 250, () =>
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(this.url, { perMessageDeflate: false });
        const timer = setTimeout(() => {
          ws.terminate();
          reject(new Error(`no answer from ${this.url} within 30 s (${this.sockets.length} open)`));
        }, 30_000);
        ws.once("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
        const i = opened++;
        ws.once("open", () => ws.send(typeof this.hello === "string" ? this.hello : this.hello(i)));
        ws.once("message", () => {
          clearTimeout(timer);
          this.sockets.push(ws);
          ws.on("message", () => this.tick());
          resolve();
        });
      }));
  }
  async close(): Promise<void> {
    await Promise.all(this.sockets.map((ws) =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once("close", () => resolve());
        ws.terminate();
      })
    ));
    this.sockets.length = 0;
  }
}

/** Socket.IO clients (websocket transport only) counting `set` events. */
export class IoPool extends Counting implements Pool {
  readonly kind = "socket.io";
  // deno-lint-ignore no-explicit-any
  readonly sockets: any[] = [];
  constructor(readonly url: string) {
    super();
  }
  get size(): number {
    return this.sockets.length;
  }
  async grow(n: number): Promise<void> {
    const { io } = await import("socket.io-client");
    await inBatches(n - this.sockets.length, 250, () =>
      new Promise<void>((resolve, reject) => {
        const socket = io(this.url, {
          transports: ["websocket"],
          forceNew: true,
          reconnection: false,
          timeout: 60_000,
        });
        socket.once("connect_error", reject);
        socket.once("connect", () => {
          this.sockets.push(socket);
          socket.on("set", () => this.tick());
          resolve();
        });
      }));
  }
  close(): Promise<void> {
    for (const s of this.sockets) s.disconnect();
    this.sockets.length = 0;
    return Promise.resolve();
  }
}

/** A pool in its own load-client process (`bench/load_client.ts`), pinned to the client core. */
export class RemotePool {
  readonly child: ChildProcess;
  size = 0;
  #next: ((m: Record<string, unknown>) => void)[] = [];
  #ready: Promise<unknown>;
  constructor(readonly kind: string, url: string) {
    const argv = [process.execPath, "--import", "tsx", "bench/load_client.ts", kind, url];
    const pinned = process.env.BENCH_NO_PIN ? argv : ["taskset", "-c", CLIENT_CORE, ...argv];
    this.child = spawn(pinned[0], pinned.slice(1), {
      cwd: ROOT,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (m) => this.#next.shift()?.(m as Record<string, unknown>));
    this.#ready = this.#reply();
  }
  #reply(): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) =>
      this.#next.push((m) => (m.error ? reject(new Error(String(m.error))) : resolve(m)))
    );
  }
  async grow(n: number): Promise<void> {
    await this.#ready;
    const reply = this.#reply();
    this.child.send({ cmd: "grow", n });
    this.size = Number((await reply).size);
  }
  /** Resolves once the clients count; the returned promise resolves when `count` more frames arrived. */
  async arm(count: number, timeout = 60_000): Promise<{ done: Promise<unknown> }> {
    const armed = this.#reply();
    const done = this.#reply();
    done.catch(() => {});
    this.child.send({ cmd: "arm", count, timeout });
    await armed;
    // Wrapped: an async function returning a promise would wait for it.
    return { done };
  }
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.send({ cmd: "close" });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export const SUBSCRIBE = JSON.stringify({ func: "subscribe", type: "var", name: "bench" });
