/**
 * 1. Fan-out: one var `set` delivered to N subscribed WebSocket connections,
 * against the same ~100-byte frame sent raw to the same number of sockets on
 * the same runtime (Node: `ws` send loop; Deno: `socket.send` loop; Bun:
 * `server.publish`), and Socket.IO 4 `io.emit` on Node as a peer. On Deno
 * the `ws` send loop over `node:http` (the path SockSync serves Deno on) is a
 * reference row: it shows what that path costs against Deno's own socket.
 *
 * Servers run in their own processes pinned to core 0; this process (the
 * clients) pins itself to core 1. Rounds are interleaved (raw, socksync,
 * socket.io, then rotated), so every ratio compares measurements taken
 * side by side. Figures: deliveries per server CPU-second (server's
 * `process.cpuUsage()` over the round) and time from the command to the last
 * delivery.
 *
 *   node --import tsx bench/fanout.ts [--runtimes node,deno,bun] [--sizes 100,1000,10000] [--rounds 5] [--native]
 */
import process from "node:process";
import { prepareLoadProcess, RemotePool, runtimeCommand, ServerProcess } from "./clients.ts";
import {
  args,
  commandLine,
  fmt,
  fs,
  goalMark,
  numbers,
  ratios,
  type Runtime,
  sectionHead,
  stats,
  table,
  writeSection,
} from "./lib.ts";

const opts = args();
const RUNTIMES = (opts.get("runtimes") ?? "node,deno,bun").split(",") as Runtime[];
const SIZES = numbers(opts.get("sizes"), [100, 1000, 10000]);
const ROUNDS = Number(opts.get("rounds") ?? 5);
// `--native`: on Deno, also the hub on `Deno.serve` (see `native` in fanout_server.ts), for comparison.
const EXTRA = opts.has("native") ? ["native"] : [];
const GOAL: Record<Runtime, number> = { node: 0.9, deno: 0.9, bun: 0.9 };

interface Sample {
  cpuPerFireUs: number;
  lastDeliveryMs: number;
}
interface Result {
  runtime: Runtime;
  n: number;
  fires: number;
  samples: Record<string, Sample[]>;
  errors: string[];
}

let seq = 1;

async function round(
  server: ServerProcess,
  pool: RemotePool,
  n: number,
  fires: number,
): Promise<Sample> {
  await server.ask("mark", "MARK");
  const times: number[] = [];
  for (let i = 0; i < fires; i++) {
    const arrived = await pool.arm(n, 60_000);
    const t0 = performance.now();
    server.send(`fire ${seq++}`);
    await arrived.done;
    times.push(performance.now() - t0);
  }
  const [cpu] = await server.ask("cpu", "CPU");
  return { cpuPerFireUs: Number(cpu) / fires, lastDeliveryMs: stats(times).median };
}

async function benchRuntime(rt: Runtime): Promise<Result[]> {
  // `metrics`: SockSync with the hub's metrics on, side by side with it off (goal: ≤ 2 % cost).
  const modes =
    (rt === "node"
      ? ["raw", "socksync", "metrics", "socketio"]
      : rt === "deno"
      ? ["raw", "socksync", "metrics", "ws"]
      : ["raw", "socksync", "metrics"]).concat(rt === "deno" ? EXTRA : []);
  const servers: Record<string, ServerProcess> = {};
  const pools: Record<string, RemotePool> = {};
  const results: Result[] = [];
  try {
    for (const mode of modes) {
      const server = await ServerProcess.start(
        `${rt}/${mode}`,
        runtimeCommand(rt, "bench/fanout_server.ts", [mode]),
      );
      servers[mode] = server;
      pools[mode] = new RemotePool(
        mode === "socketio" ? "socketio" : "ws",
        mode === "socketio"
          ? `http://127.0.0.1:${server.port}`
          : mode === "socksync" || mode === "metrics" || mode === "native"
          ? `ws://127.0.0.1:${server.port}/ws/socksync`
          : `ws://127.0.0.1:${server.port}/`,
      );
    }
    for (const n of SIZES) {
      const result: Result = { runtime: rt, n, fires: 0, samples: {}, errors: [] };
      results.push(result);
      const t0 = performance.now();
      for (const mode of modes) {
        try {
          await pools[mode].grow(n);
        } catch (error) {
          result.errors.push(`${mode}: connect: ${(error as Error).message}`);
        }
      }
      const connectMs = performance.now() - t0;
      // Enough fires per round that a round costs tens of ms of CPU, and at least five, so a
      // round's median time to the last delivery is not one or two fires' luck.
      const fires = Math.max(5, Math.round(10000 / n));
      result.fires = fires;
      // Warm-up (JIT), not recorded.
      for (const mode of modes) {
        if (pools[mode].size === n) {
          await round(servers[mode], pools[mode], n, fires).catch(() => {});
        }
      }
      for (let r = 0; r < ROUNDS; r++) {
        const order = modes.slice(r % modes.length).concat(modes.slice(0, r % modes.length));
        for (const mode of order) {
          if (pools[mode].size !== n) continue;
          try {
            const sample = await round(servers[mode], pools[mode], n, fires);
            (result.samples[mode] ??= []).push(sample);
          } catch (error) {
            result.errors.push(`${mode}: ${(error as Error).message}`);
          }
        }
      }
      console.error(
        `fanout ${rt} N=${n}: connected in ${connectMs.toFixed(0)} ms; ` +
          modes.map((m) =>
            `${m} cpu/fire ${
              fmt(stats((result.samples[m] ?? []).map((s) => s.cpuPerFireUs)).median)
            } µs`
          ).join(", ") + (result.errors.length ? `; errors: ${result.errors.join("; ")}` : ""),
      );
    }
  } finally {
    await Promise.all(Object.values(pools).map((p) => p.close()));
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
  return results;
}

const SERVER_NAME: Record<string, string> = {
  socksync: "SockSync",
  metrics: "SockSync, metrics on",
  socketio: "Socket.IO 4",
  ws: "`ws` over `node:http` (reference)",
  native: "SockSync's hub on `Deno.serve` (comparison)",
};

/** Metrics on against off, side by side: the rate lost (goal ≤ 2 %). */
function metricsCost(r: Result): string {
  const rate = (ss: Sample[] = []) => ss.map((s) => r.n / (s.cpuPerFireUs / 1e6));
  const on = ratios(rate(r.samples.metrics), rate(r.samples.socksync));
  const cost = (1 - on.median) * 100;
  return `on ÷ off ${fs(on)}: ${cost.toFixed(1)} % cost, goal ≤ 2 % ${goalMark(cost <= 2)}`;
}

function report(all: Result[]): string {
  const rows: string[][] = [];
  for (const r of all) {
    const raw = r.samples.raw ?? [];
    const rawRate = raw.map((s) => r.n / (s.cpuPerFireUs / 1e6));
    const rawLast = raw.map((s) => s.lastDeliveryMs);
    for (const mode of ["socksync", "metrics", "socketio", "ws", "native"]) {
      const ss = r.samples[mode];
      if (!ss) continue;
      const rate = ss.map((s) => r.n / (s.cpuPerFireUs / 1e6));
      const last = ss.map((s) => s.lastDeliveryMs);
      const rateRatio = ratios(rate, rawRate);
      const lastRatio = ratios(last, rawLast);
      const goal = mode === "socksync" ? GOAL[r.runtime] : undefined;
      rows.push([
        r.runtime,
        SERVER_NAME[mode],
        fmt(r.n),
        `${fs(rateRatio)}`,
        mode === "metrics"
          ? metricsCost(r)
          : goal === undefined
          ? (mode === "ws" || mode === "native" ? "(reference)" : "(peer)")
          : `≥ ${goal} ${goalMark(rateRatio.median >= goal)}`,
        `${fmt(stats(rate).median)} / ${fmt(stats(rawRate).median)}`,
        `${fs(lastRatio)}`,
        `${fmt(stats(last).median)} / ${fmt(stats(rawLast).median)}`,
      ]);
    }
    if (r.errors.length) {
      rows.push([r.runtime, "errors", fmt(r.n), r.errors.join("; "), "", "", "", ""]);
    }
  }
  const rawName: Record<Runtime, string> = {
    node: "`ws` send loop",
    deno: "`socket.send` loop",
    bun: "`server.publish`",
  };
  return [
    sectionHead("1. Fan-out: one var `set` to N subscribed connections", commandLine()),
    `Baseline (same runtime, same run, rounds interleaved): the same 100-byte frame sent raw — ` +
    RUNTIMES.map((rt) => `${rt}: ${rawName[rt]}`).join("; ") +
    `. Socket.IO 4 (\`io.emit\`, websocket transport) is the peer on Node. ` +
    `"SockSync, metrics on" is the same server with \`new Hub({ metrics: true })\`, its goal ` +
    `column its rate against SockSync with metrics off (goal: at most 2 % lower). ` +
    `On Deno, SockSync serves through \`node:http\` and \`ws\` (see \`src/serve/adapter/deno.ts\`), ` +
    `writing frames to the TCP handle past \`node:net\`'s stream layer (\`deno_socket.ts\` there): ` +
    `the \`ws\` send loop on that same path is a reference row` +
    (EXTRA.length
      ? `, and so is the hub on \`Deno.serve\` (\`--native\`: no frame cap, see deno.ts)`
      : "") +
    `. ` +
    `Servers pinned to core 0, clients (one Node process per server, \`ws\` / \`socket.io-client\`) to core 1. ` +
    `${ROUNDS} rounds; a round is max(5, 10000/N) fires. ` +
    `Rate = deliveries per server CPU-second (\`process.cpuUsage()\`, user+system, all threads); ` +
    `last = ms from the command to the last client's frame.`,
    "",
    table([
      "runtime",
      "server",
      "N",
      "deliveries/CPU-s ÷ raw",
      "goal",
      "deliveries/CPU-s (this / raw)",
      "time to last delivery ÷ raw",
      "last ms (this / raw)",
    ], rows),
  ].join("\n");
}

prepareLoadProcess();
const all: Result[] = [];
for (const rt of RUNTIMES) {
  try {
    all.push(...await benchRuntime(rt));
  } catch (error) {
    console.error(`fanout ${rt} failed: ${(error as Error).message}`);
    all.push({
      runtime: rt,
      n: 0,
      fires: 0,
      samples: {},
      errors: [(error as Error).message.slice(0, 300)],
    });
  }
}
const md = report(all);
console.log(md);
if (!opts.has("no-write")) writeSection("fanout", md);
process.exit(0);
