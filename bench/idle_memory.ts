/**
 * 2. Idle connections: server memory per subscribed, idle connection (ΔRSS
 * and ΔheapUsed after GC, divided by N, and ΔRSS of the second N/2 alone) at N = 10,000, against the same
 * number of raw connections on the same runtime (Node: `ws`; Deno:
 * `Deno.upgradeWebSocket`; Bun: `Bun.serve` websocket), each in a fresh
 * server process, rounds interleaved. Clients (a `ws` process per server)
 * subscribe to a var (raw: send the same frame and get one frame back).
 *
 *   node --import tsx bench/idle_memory.ts [--runtimes node,deno,bun] [--n 10000] [--rounds 3]
 */
import process from "node:process";
import { prepareLoadProcess, RemotePool, runtimeCommand, ServerProcess } from "./clients.ts";
import {
  args,
  commandLine,
  fmt,
  fs,
  goalMark,
  ratios,
  type Runtime,
  sectionHead,
  sleep,
  stats,
  table,
  writeSection,
} from "./lib.ts";

const opts = args();
const RUNTIMES = (opts.get("runtimes") ?? "node,deno,bun").split(",") as Runtime[];
const N = Number(opts.get("n") ?? 10000);
const ROUNDS = Number(opts.get("rounds") ?? 3);
const MODES = ["raw", "socksync"] as const;

interface Sample {
  rss: number;
  heap: number;
  /** ΔRSS per connection of the second half alone (N/2+1 → N+1): what one more costs once warm. */
  rssLate: number;
}

async function once(rt: Runtime, mode: string): Promise<Sample> {
  const server = await ServerProcess.start(
    `${rt}/${mode}`,
    runtimeCommand(rt, "bench/fanout_server.ts", [mode]),
  );
  const pool = new RemotePool(
    "ws",
    mode === "socksync"
      ? `ws://127.0.0.1:${server.port}/ws/socksync`
      : `ws://127.0.0.1:${server.port}/`,
  );
  try {
    // One connection first, so lazily loaded code (upgrade path, adapter) is in both readings.
    await pool.grow(1);
    await sleep(200);
    const [rss0, heap0] = (await server.ask("mem", "MEM")).map(Number);
    const half = Math.floor(N / 2);
    await pool.grow(half + 1);
    await sleep(500);
    const [rssHalf] = (await server.ask("mem", "MEM")).map(Number);
    await pool.grow(N + 1);
    await sleep(500);
    const [rss1, heap1, conns] = (await server.ask("mem", "MEM")).map(Number);
    if (conns !== N + 1) throw new Error(`${rt}/${mode}: ${conns} connections, expected ${N + 1}`);
    return {
      rss: (rss1 - rss0) / N,
      heap: (heap1 - heap0) / N,
      rssLate: (rss1 - rssHalf) / (N - half),
    };
  } finally {
    await pool.close();
    await server.stop();
  }
}

prepareLoadProcess();
const results: { rt: Runtime; samples: Record<string, Sample[]>; errors: string[] }[] = [];
for (const rt of RUNTIMES) {
  const r = { rt, samples: {} as Record<string, Sample[]>, errors: [] as string[] };
  results.push(r);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...MODES].reverse() : MODES;
    for (const mode of order) {
      try {
        (r.samples[mode] ??= []).push(await once(rt, mode));
      } catch (error) {
        r.errors.push((error as Error).message.slice(0, 200));
      }
    }
  }
  console.error(
    `idle ${rt}: ` + MODES.map((m) =>
      `${m} ${
        fmt(stats((r.samples[m] ?? []).map((s) => s.rss)).median)
      } B rss/conn, ` +
      `${fmt(stats((r.samples[m] ?? []).map((s) => s.heap)).median)} B heap/conn`
    ).join("; ") + (r.errors.length ? ` errors: ${r.errors.join("; ")}` : ""),
  );
}

const rows: string[][] = [];
for (const r of results) {
  const raw = r.samples.raw ?? [];
  const ss = r.samples.socksync ?? [];
  if (raw.length && ss.length) {
    const rssRatio = ratios(ss.map((s) => s.rss), raw.map((s) => s.rss));
    const heapRatio = ratios(ss.map((s) => s.heap), raw.map((s) => s.heap));
    const lateRatio = ratios(ss.map((s) => s.rssLate), raw.map((s) => s.rssLate));
    rows.push([
      r.rt,
      fmt(N),
      fs(rssRatio),
      `≤ 1.2 ${goalMark(rssRatio.median <= 1.2)}`,
      `${fmt(stats(ss.map((s) => s.rss)).median)} / ${fmt(stats(raw.map((s) => s.rss)).median)}`,
      fs(heapRatio),
      `≤ 1.2 ${goalMark(heapRatio.median <= 1.2)}`,
      `${fmt(stats(ss.map((s) => s.heap)).median)} / ${fmt(stats(raw.map((s) => s.heap)).median)}`,
      fs(lateRatio),
      `${fmt(stats(ss.map((s) => s.rssLate)).median)} / ${
        fmt(stats(raw.map((s) => s.rssLate)).median)
      }`,
    ]);
  }
  if (r.errors.length) rows.push([r.rt, "errors", r.errors.join("; "), "", "", "", "", "", "", ""]);
}
const md = [
  sectionHead("2. Idle connections: memory per subscribed connection", commandLine()),
  `Each round starts a fresh server per mode (pinned to core 0) and opens N subscribed connections ` +
  `from a \`ws\` client process (core 1); Δ = (reading with N+1 connections − reading with 1) / N, ` +
  `each reading after a full GC (\`--expose-gc\` / \`Bun.gc(true)\`). Baseline: N raw connections on the ` +
  `same runtime (Node \`ws\`, Deno \`Deno.upgradeWebSocket\`, Bun \`Bun.serve\` websocket) that got the same frame. ` +
  `${ROUNDS} rounds, alternating order. The last two columns (no goal) take a third reading at N/2+1 ` +
  `connections and divide the RSS growth of the second half by its N/2 connections: what one more ` +
  `connection costs once the server is warm, without what the first connections also brought in ` +
  `(code compiled on the way, allocator and heap growth), which the Δ columns spread over N.`,
  "",
  table([
    "runtime",
    "N",
    "ΔRSS/conn ÷ raw",
    "goal",
    "ΔRSS bytes/conn (SockSync / raw)",
    "ΔheapUsed/conn ÷ raw",
    "goal",
    "ΔheapUsed bytes/conn (SockSync / raw)",
    "ΔRSS/conn of the second half ÷ raw",
    "second-half ΔRSS bytes/conn (SockSync / raw)",
  ], rows),
].join("\n");
console.log(md);
if (!opts.has("no-write")) writeSection("idle", md);
process.exit(0);
