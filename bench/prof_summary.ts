/**
 * Prints the top self-time functions of a `.cpuprofile` (from `node --cpu-prof`).
 *
 *   node --import tsx bench/prof_summary.ts FILE.cpuprofile [top]
 */
import { readFileSync } from "node:fs";
import process from "node:process";

const [file, top = "25"] = process.argv.slice(2);
// deno-lint-ignore no-explicit-any
const prof = JSON.parse(readFileSync(file, "utf8")) as any;
const self = new Map<number, number>();
prof.samples.forEach((id: number, i: number) =>
  self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0))
);
const byFn = new Map<string, number>();
let busy = 0;
for (const node of prof.nodes) {
  const t = self.get(node.id) ?? 0;
  const cf = node.callFrame;
  if (cf.functionName === "(idle)") continue;
  busy += t;
  const key = `${cf.functionName || "(anon)"} ${
    cf.url.replace(/.*node_modules\//, "").replace(/.*\/work\/main\//, "")
  }:${cf.lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) ?? 0) + t);
}
console.log(`busy ${(busy / 1000).toFixed(0)} ms`);
for (const [k, t] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${(100 * t / busy).toFixed(1).padStart(5)}%  ${k}`);
}
