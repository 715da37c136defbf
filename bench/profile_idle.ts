/**
 * Profiling helper (not part of `npm run bench`): heap snapshots of a
 * fan-out server (Node, or Bun with `--runtime bun`) with 1 and 1+N idle
 * subscribed connections; prints the difference per connection by type (self
 * sizes by constructor on Node, cell sizes by class name on Bun).
 *
 *   node --import tsx bench/profile_idle.ts [--mode socksync|raw|bare] [--n 2000] [--runtime node|bun]
 *
 * With `--parts`: no snapshots; what the RSS is made of instead (JS heap, malloc, the runtime's
 * machine code paged in, JIT code; see `memoryParts` in bench/fanout_server.ts) at 1, N/2+1 and
 * N+1 connections, per connection of each half: the first half also carries what the server
 * gains once (code paths first run, JIT compilation), the second only what each connection keeps.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { prepareLoadProcess, RemotePool, runtimeCommand, ServerProcess } from "./clients.ts";
import { args, type Runtime } from "./lib.ts";

const opts = args();
const mode = opts.get("mode") ?? "socksync";
const n = Number(opts.get("n") ?? 2000);
const rt = (opts.get("runtime") ?? "node") as Runtime;
const dir = mkdtempSync(join(tmpdir(), "socksync-heap-"));
prepareLoadProcess();
const server = await ServerProcess.start(
  mode,
  runtimeCommand(rt, "bench/fanout_server.ts", [mode]),
);
const pool = new RemotePool(
  "ws",
  mode === "raw" ? `ws://127.0.0.1:${server.port}/` : `ws://127.0.0.1:${server.port}/ws/socksync`,
);
if (opts.has("parts")) {
  const readings: [number, Record<string, number>][] = [];
  for (const size of [1, Math.floor(n / 2) + 1, n + 1]) {
    await pool.grow(size);
    await new Promise((resolve) => setTimeout(resolve, size === 1 ? 200 : 500));
    readings.push([size, JSON.parse((await server.ask("parts", "PARTS"))[0])]);
  }
  await pool.close();
  await server.stop();
  const [[n0, r0], [n1, r1], [n2, r2]] = readings;
  console.log(`${rt}/${mode}: bytes per connection (N=${n}); absolute MB at 1 / N+1 connections`);
  for (const key of Object.keys(r2)) {
    const first = ((r1[key] ?? 0) - (r0[key] ?? 0)) / (n1 - n0);
    const second = ((r2[key] ?? 0) - (r1[key] ?? 0)) / (n2 - n1);
    const all = ((r2[key] ?? 0) - (r0[key] ?? 0)) / (n2 - n0);
    console.log(
      `${key.padEnd(13)} all ${all.toFixed(0).padStart(6)}  first half ${
        first.toFixed(0).padStart(6)
      }  second half ${second.toFixed(0).padStart(6)}   ${
        ((r0[key] ?? 0) / 2 ** 20).toFixed(1)
      } / ${(r2[key] / 2 ** 20).toFixed(1)} MB`,
    );
  }
  process.exit(0);
}
await pool.grow(1);
const [a] = await server.ask(`snap ${join(dir, "a.heapsnapshot")}`, "SNAP");
await pool.grow(n + 1);
const [b] = await server.ask(`snap ${join(dir, "b.heapsnapshot")}`, "SNAP");
await pool.close();
await server.stop();

function summary(file: string): Map<string, { size: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, "utf8"));
  if (snap.bun) {
    const bun = snap.bun as Record<string, [number, number]>;
    return new Map(Object.entries(bun).map(([k, [size, count]]) => [k, { size, count }]));
  }
  const f = snap.snapshot.meta.node_fields as string[];
  const types = snap.snapshot.meta.node_types[0] as string[];
  const [it, iname, isize] = ["type", "name", "self_size"].map((x) => f.indexOf(x));
  const out = new Map<string, { size: number; count: number }>();
  const nodes = snap.nodes as number[];
  for (let i = 0; i < nodes.length; i += f.length) {
    const type = types[nodes[i + it]];
    const name = type === "object" || type === "closure"
      ? `${type}:${snap.strings[nodes[i + iname]]}`
      : `(${type})`;
    const e = out.get(name) ?? { size: 0, count: 0 };
    e.size += nodes[i + isize];
    e.count++;
    out.set(name, e);
  }
  return out;
}
const sa = summary(a);
const sb = summary(b);
const diff = [...sb].map(([k, v]) => {
  const o = sa.get(k) ?? { size: 0, count: 0 };
  return [k, (v.size - o.size) / n, (v.count - o.count) / n] as const;
}).sort((x, y) => y[1] - x[1]);
const total = diff.reduce((s, d) => s + d[1], 0);
console.log(
  `${rt}/${mode}: +${total.toFixed(0)} B self size per connection (heap snapshot diff, N=${n})`,
);
for (const [k, size, count] of diff.slice(0, 30)) {
  console.log(`${size.toFixed(0).padStart(7)} B ${count.toFixed(2).padStart(6)} objs  ${k}`);
}
process.exit(0);
