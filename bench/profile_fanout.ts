/**
 * Profiling helper (not part of `npm run bench`): runs one fan-out server
 * under `node --cpu-prof`, N subscribed clients, F fires, then prints the
 * top self-time functions of the profile.
 *
 *   node --import tsx bench/profile_fanout.ts [--runtime node|deno] [--mode socksync|raw|ws] [--n 1000] [--fires 300]
 *
 * On Deno the server runs under `deno run --cpu-prof` (same profile format).
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { prepareLoadProcess, RemotePool, ServerProcess } from "./clients.ts";
import { args } from "./lib.ts";

const opts = args();
const mode = opts.get("mode") ?? "socksync";
const runtime = opts.get("runtime") ?? "node";
const n = Number(opts.get("n") ?? 1000);
const fires = Number(opts.get("fires") ?? 300);
const dir = mkdtempSync(join(tmpdir(), "socksync-prof-"));
prepareLoadProcess();
const profiled = ["--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", "100"];
const server = await ServerProcess.start(
  mode,
  runtime === "deno"
    ? [
      join("node_modules", ".bin", "deno"),
      "run",
      "-A",
      ...profiled,
      "bench/fanout_server.ts",
      mode,
    ]
    : [process.execPath, ...profiled, "--import", "tsx", "bench/fanout_server.ts", mode],
);
const pool = new RemotePool(
  "ws",
  mode === "socksync" || mode === "metrics"
    ? `ws://127.0.0.1:${server.port}/ws/socksync`
    : `ws://127.0.0.1:${server.port}/`,
);
await pool.grow(n);
await server.ask("mark", "MARK");
for (let i = 0; i < fires; i++) {
  const { done } = await pool.arm(n);
  server.send(`fire ${i + 1}`);
  await done;
}
const [cpu] = await server.ask("cpu", "CPU");
await pool.close();
await server.stop();
await new Promise((r) => setTimeout(r, 500));
const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"))!;
// deno-lint-ignore no-explicit-any
const prof = JSON.parse(readFileSync(join(dir, file), "utf8")) as any;
const self = new Map<number, number>();
const dt: number[] = prof.timeDeltas;
prof.samples.forEach((id: number, i: number) => self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0)));
const byFn = new Map<string, number>();
let total = 0;
for (const node of prof.nodes) {
  const t = self.get(node.id) ?? 0;
  total += t;
  const cf = node.callFrame;
  const key = `${cf.functionName || "(anon)"} ${
    cf.url.replace(/.*node_modules\//, "").replace(/.*\/work\/(main|wt\/[^/]+)\//, "")
  }:${cf.lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) ?? 0) + t);
}
console.log(
  `${mode} N=${n} fires=${fires}: server CPU ${(Number(cpu) / fires).toFixed(0)} µs/fire; profile ${
    join(dir, file)
  }`,
);
const idle = [...byFn].filter(([k]) => k.startsWith("(idle)")).reduce((a, [, t]) => a + t, 0);
for (const [k, t] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`${(100 * t / (total - idle)).toFixed(1).padStart(5)}%  ${k}`);
}
process.exit(0);
