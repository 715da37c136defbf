/**
 * What heartbeats cost at N idle connections (default 10,000) on a Node
 * server: frames per second the server receives and sends, server CPU, and
 * idle RSS and heap per connection, with the heartbeat on (the defaults: hub
 * 15 s, client 10 s) and off (`idleTimeout: 0` on both). The clients are
 * `Peer`s over `ws` in this process, with the client's limits, so they probe
 * and answer as `connect()` does; each subscribes to one var, then stays idle.
 *
 *   node --expose-gc --import tsx bench/heartbeat.ts [--n 10000] [--window 30000]
 */
import process from "node:process";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { cpuMicros } from "./lib.ts";

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : fallback;
};

async function serveMode(on: boolean): Promise<void> {
  const { Hub } = await import("../src/server/hub.ts");
  const { serve } = await import("../src/serve/serve.ts");
  const v = await import("valibot");
  const hub = new Hub({ limits: { maxConnections: 1_000_000, idleTimeout: on ? 15_000 : 0 } });
  hub.var("bench", { schema: v.unknown(), initial: 0 });
  let framesIn = 0;
  let framesOut = 0;
  const server = await serve({
    hub,
    port: 0,
    hostname: "127.0.0.1",
    onConnect: (peer) => {
      // Counted on the socket: no wrapper per peer beyond these two.
      const socket = peer.socket as { send(text: string): void };
      const send = socket.send.bind(socket);
      socket.send = (text: string) => {
        framesOut++;
        send(text);
      };
      const receive = peer.receive.bind(peer);
      peer.receive = (data: unknown) => {
        framesIn++;
        return receive(data);
      };
    },
  });
  console.log(`PORT ${server.port}`);
  const gc = (globalThis as { gc?: () => void }).gc;
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "mem") {
      gc?.();
      gc?.();
      const { rss, heapUsed } = process.memoryUsage();
      console.log(`MEM ${rss} ${heapUsed} ${server.connections}`);
    } else if (line === "cpu") {
      console.log(`CPU ${cpuMicros()} ${framesIn} ${framesOut}`);
    } else if (line === "quit") break;
  }
  await server.close();
  await hub.close();
  process.exit(0);
}

async function measure(on: boolean, n: number, windowMs: number) {
  const child = spawn(
    process.execPath,
    ["--expose-gc", "--import", "tsx", "bench/heartbeat.ts", "--serve", on ? "on" : "off"],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on("line", (line) => waiting.shift()?.(line));
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  const ask = async (what: string) => {
    const answer = next();
    child.stdin!.write(`${what}\n`);
    return (await answer).split(" ").slice(1).map(Number);
  };
  const [port] = (await next()).split(" ").slice(1).map(Number);
  const { WebSocket } = await import("ws");
  const { Peer } = await import("../src/peer/peer.ts");
  const { VarMirror } = await import("../src/client/mirror.ts");
  const { CLIENT_LIMITS } = await import("../src/peer/limits.ts");
  const sockets: InstanceType<typeof WebSocket>[] = [];
  const open = async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws/socksync`);
    const peer = new Peer({
      socket: socket as never,
      limits: { ...CLIENT_LIMITS, idleTimeout: on ? CLIENT_LIMITS.idleTimeout : 0 },
    });
    socket.on("message", (data) => peer.receive(String(data)));
    socket.on("close", () => peer.detach());
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    peer.mirror(new VarMirror("bench"));
    sockets.push(socket);
  };
  await open();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const [rss0, heap0] = await ask("mem");
  for (let i = 1; i <= n; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, n + 1 - i) }, open));
  }
  // Past the first probes, so every connection is in its steady rhythm.
  await new Promise((resolve) => setTimeout(resolve, 12_000));
  const [rss1, heap1, conns] = await ask("mem");
  const [cpu0, in0, out0] = await ask("cpu");
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const [cpu1, in1, out1] = await ask("cpu");
  child.stdin!.write("quit\n");
  for (const socket of sockets) socket.terminate();
  const seconds = windowMs / 1000;
  return {
    mode: on ? "on" : "off",
    conns,
    framesInPerS: (in1 - in0) / seconds,
    framesOutPerS: (out1 - out0) / seconds,
    cpuPercent: (cpu1 - cpu0) / 1e4 / seconds,
    rssPerConn: (rss1 - rss0) / n,
    heapPerConn: (heap1 - heap0) / n,
  };
}

if (argv.includes("--serve")) {
  await serveMode(opt("serve", "on") === "on");
} else {
  const n = Number(opt("n", "10000"));
  const windowMs = Number(opt("window", "30000"));
  for (const on of [false, true]) {
    const r = await measure(on, n, windowMs);
    console.log(
      `heartbeat ${r.mode}: ${r.conns - 1} idle connections, server in ${
        r.framesInPerS.toFixed(0)
      } frames/s, out ${r.framesOutPerS.toFixed(0)} frames/s, CPU ${
        r.cpuPercent.toFixed(2)
      }% of a core, ΔRSS ${r.rssPerConn.toFixed(0)} B/conn, Δheap ${
        r.heapPerConn.toFixed(0)
      } B/conn`,
    );
  }
  process.exit(0);
}
