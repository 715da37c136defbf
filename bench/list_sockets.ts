/**
 * 3b. List views over real sockets, one size: a SockSync server (own process,
 * core 0) with a 100,000-item memory list, N WebSocket subscribers (one client
 * process, core 1) spread evenly over its pages of 20. Per change: frames
 * delivered, time to the last one, and server CPU, against the floor measured
 * side by side — one pre-encoded `set_count` written to the same N sockets.
 *
 *   node --import tsx bench/list_sockets.ts [--n 1000] [--rounds 5]
 */
import process from "node:process";
import { prepareLoadProcess, RemotePool, runtimeCommand, ServerProcess } from "./clients.ts";
import {
  args,
  commandLine,
  fmt,
  fs,
  ratios,
  type Runtime,
  sectionHead,
  stats,
  table,
  writeSection,
} from "./lib.ts";

const opts = args();
const N = Number(opts.get("n") ?? 1000);
const ROUNDS = Number(opts.get("rounds") ?? 5);
const RT = (opts.get("runtime") ?? "node") as Runtime;
const ITEMS = 100_000;
const PAGES = ITEMS / 20;
const OPS = [["insert@0", 1], ["delete@0", 2], ["set@middle", 3], ["floor", 4]] as const;

prepareLoadProcess();
const server = await ServerProcess.start(
  `${RT}/list`,
  runtimeCommand(RT, "bench/fanout_server.ts", ["list"]),
  120_000,
);
const pool = new RemotePool(`list:${N}:${PAGES}`, `ws://127.0.0.1:${server.port}/ws/socksync`);
const samples: Record<string, { cpu: number; ms: number }[]> = {};
// Subscribers of the page holding the middle item.
const middlePage = Math.floor(ITEMS / 2 / 20);
let onMiddle = 0;
for (let i = 0; i < N; i++) if (Math.floor((i * PAGES) / N) === middlePage) onMiddle++;
const expected: Record<string, number> = {
  "insert@0": N,
  "delete@0": N,
  "set@middle": onMiddle,
  floor: N,
};
const errors: string[] = [];
try {
  await pool.grow(N);
  for (let r = -1; r < ROUNDS; r++) {
    for (const [name, code] of OPS) {
      if (expected[name] === 0) continue;
      await server.ask("mark", "MARK");
      const { done } = await pool.arm(expected[name], 30_000);
      const t0 = performance.now();
      server.send(`fire ${code}`);
      try {
        await done;
      } catch (error) {
        errors.push(`${name}: ${(error as Error).message}`);
        continue;
      }
      const ms = performance.now() - t0;
      const [cpu] = await server.ask("cpu", "CPU");
      if (r >= 0) (samples[name] ??= []).push({ cpu: Number(cpu), ms });
    }
  }
} finally {
  await pool.close();
  await server.stop();
}
const floor = samples.floor ?? [];
const rows = OPS.filter(([n]) => n !== "floor" && samples[n]).map(([name]) => {
  const s = samples[name];
  return [
    name,
    fmt(N),
    fmt(expected[name]),
    `${fmt(stats(s.map((x) => x.cpu)).median)} / ${fmt(stats(floor.map((x) => x.cpu)).median)} µs`,
    fs(ratios(s.map((x) => x.cpu), floor.map((x) => x.cpu))),
    `${fmt(stats(s.map((x) => x.ms)).median)} / ${fmt(stats(floor.map((x) => x.ms)).median)} ms`,
    fs(ratios(s.map((x) => x.ms), floor.map((x) => x.ms))),
  ];
});
const md = [
  sectionHead(`3b. List views over real sockets (${RT} server, N = ${fmt(N)})`, commandLine()),
  `100,000-item memory list, pages of 20, N WebSocket subscribers spread evenly over the pages; each change is awaited ` +
  `until every expected frame arrived. Floor (same run, interleaved) = one pre-encoded \`set_count\` written to the same N sockets. ` +
  `${ROUNDS} rounds.${errors.length ? ` Errors: ${errors.join("; ")}` : ""}`,
  "",
  table([
    "change",
    "N",
    "frames delivered",
    "server CPU (change / floor)",
    "CPU ÷ floor",
    "time to last frame (change / floor)",
    "time ÷ floor",
  ], rows),
].join("\n");
console.log(md);
if (!opts.has("no-write")) writeSection("lists-sockets", md);
process.exit(0);
