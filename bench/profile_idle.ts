/**
 * Profiling helper (not part of `npm run bench`): heap snapshots of a
 * fan-out server (Node, or Bun with `--runtime bun`) with 1 and 1+N idle
 * subscribed connections; prints the difference per connection by type (self
 * sizes by constructor on Node, cell sizes by class name on Bun).
 *
 *   node --import tsx bench/profile_idle.ts [--mode socksync|raw] [--n 2000] [--runtime node|bun]
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
  mode === "socksync"
    ? `ws://127.0.0.1:${server.port}/ws/socksync`
    : `ws://127.0.0.1:${server.port}/`,
);
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
