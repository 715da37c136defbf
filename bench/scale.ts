/**
 * Scale (not part of `npm run bench`): one SockSync server process holding N
 * concurrent subscribed connections, for N growing up to `--sizes`' largest:
 * server memory per connection (ΔRSS, ΔheapUsed after GC, against one
 * connection), time for one var change to reach all N (median of 3), and
 * whether every connection is still open afterwards. Clients: `ws` load
 * processes of at most 9,000 connections each (a process holds at most
 * `ulimit -n` sockets). Loopback only; every process stops at the end.
 *
 *   node --expose-gc --import tsx bench/scale.ts [--runtimes node,deno,bun] [--sizes 5000,10000,19000]
 *
 * The per-process open-file limit bounds N: each connection is one file
 * descriptor in the server process, and `ulimit -n` here is 20,000 (hard
 * limit, not raisable without CAP_SYS_RESOURCE).
 */
import process from "node:process";
import { prepareLoadProcess, RemotePool, runtimeCommand, ServerProcess } from "./clients.ts";
import {
  args,
  commandLine,
  fmt,
  numbers,
  type Runtime,
  sectionHead,
  sleep,
  stats,
  table,
  writeSection,
} from "./lib.ts";

const opts = args();
const RUNTIMES = (opts.get("runtimes") ?? "node,deno,bun").split(",") as Runtime[];
const SIZES = numbers(opts.get("sizes"), [5000, 10000, 19000]);
const PER_PROCESS = 9000;
const FIRES = 3;

interface Row {
  rt: Runtime;
  n: number;
  rss: number;
  heap: number;
  lastMs: number;
  open: number;
  error?: string;
}

async function once(rt: Runtime, n: number): Promise<Row> {
  const server = await ServerProcess.start(
    `${rt}/scale`,
    runtimeCommand(rt, "bench/fanout_server.ts", ["socksync"]),
  );
  const url = `ws://127.0.0.1:${server.port}/ws/socksync`;
  const pools: RemotePool[] = [];
  try {
    const first = new RemotePool("ws", url);
    pools.push(first);
    await first.grow(1);
    await sleep(200);
    const [rss0, heap0] = (await server.ask("mem", "MEM")).map(Number);
    for (let left = n + 1 - 1; left > 0;) {
      const pool = pools.at(-1)!.size >= PER_PROCESS ? new RemotePool("ws", url) : pools.at(-1)!;
      if (!pools.includes(pool)) pools.push(pool);
      const take = Math.min(left, PER_PROCESS - pool.size);
      await pool.grow(pool.size + take);
      left -= take;
    }
    await sleep(500);
    const [rss1, heap1] = (await server.ask("mem", "MEM")).map(Number);
    const times: number[] = [];
    for (let i = 1; i <= FIRES; i++) {
      const armed = await Promise.all(pools.map((p) => p.arm(p.size, 120_000)));
      const t0 = performance.now();
      server.send(`fire ${i}`);
      await Promise.all(armed.map((a) => a.done));
      times.push(performance.now() - t0);
    }
    await sleep(200);
    const [, , open] = (await server.ask("mem", "MEM")).map(Number);
    return {
      rt,
      n,
      rss: (rss1 - rss0) / n,
      heap: (heap1 - heap0) / n,
      lastMs: stats(times).median,
      open,
    };
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await server.stop();
  }
}

prepareLoadProcess();
const rows: string[][] = [];
for (const rt of RUNTIMES) {
  let previous: Row | undefined;
  for (const n of SIZES) {
    try {
      const r = await once(rt, n);
      console.error(
        `scale ${rt} ${n}: ${fmt(r.rss)} B rss/conn, ${fmt(r.heap)} B heap/conn, ` +
          `last ${fmt(r.lastMs)} ms, open ${r.open}`,
      );
      rows.push([
        rt,
        fmt(n),
        fmt(r.rss),
        fmt(r.heap),
        fmt(r.lastMs),
        previous ? `×${fmt(r.lastMs / previous.lastMs)} for ×${fmt(n / previous.n)} N` : "–",
        `${r.open - 1} of ${n}${r.open - 1 === n ? " ✅" : " ❌"}`,
      ]);
      previous = r;
    } catch (error) {
      rows.push([rt, fmt(n), "error", (error as Error).message.slice(0, 160), "", "", ""]);
    }
  }
}
const md = [
  sectionHead("6. Scale: concurrent subscribed connections on one server process", commandLine()),
  `One SockSync server process per (runtime, N), N connections subscribed to one var from \`ws\` ` +
  `client processes (at most ${PER_PROCESS} each); memory Δ per connection against one connection, ` +
  `after GC; time from the command to the last of the N clients getting one change (median of ${FIRES}); ` +
  `connections still open at the end. N stops below 20,000: the server process's open-file limit ` +
  `(\`ulimit -n\`, hard limit 20,000 on this machine, not raisable) caps its sockets.`,
  "",
  table([
    "runtime",
    "N",
    "ΔRSS bytes/conn",
    "ΔheapUsed bytes/conn",
    "time to last delivery (ms)",
    "growth",
    "still open",
  ], rows),
].join("\n");
console.log(md);
if (!opts.has("no-write")) writeSection("scale", md);
process.exit(0);
