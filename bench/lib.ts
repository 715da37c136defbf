/**
 * Shared helpers of the benchmarks: statistics (min/median/max), ratios,
 * Markdown tables, the machine description, and writing one section of
 * BENCHMARKS.md between its markers. Runtime-neutral (node: modules only),
 * so in-process benchmarks run on Node, Deno and Bun alike.
 */
import { execSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const BENCHMARKS = join(ROOT, "BENCHMARKS.md");

import { detectRuntime } from "../src/serve/adapter/shared.ts";
export type { Runtime } from "../src/serve/adapter/shared.ts";

/** The runtime running this benchmark (the library's own check). */
export const runtime = detectRuntime;

export interface Stats {
  min: number;
  median: number;
  max: number;
  n: number;
}

export function stats(values: number[]): Stats {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { min: NaN, median: NaN, max: NaN, n: 0 };
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { min: v[0], median, max: v[v.length - 1], n: v.length };
}

/** Per-round ratios a[i]/b[i] (rounds are interleaved, so pairs share noise). */
export function ratios(a: number[], b: number[]): Stats {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) out.push(a[i] / b[i]);
  return stats(out);
}

export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return "–";
  const abs = Math.abs(x);
  if (abs >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  return x.toPrecision(digits);
}

/** "median (min–max)". */
export function fs(s: Stats, digits = 3): string {
  if (s.n === 0) return "–";
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(header),
    line(header.map(() => "---")),
    ...rows.map(line),
  ].join("\n");
}

export function goalMark(ok: boolean | undefined): string {
  return ok === undefined ? "" : ok ? "✅" : "❌";
}

function version(cmd: string): string {
  try {
    return execSync(cmd, { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"], timeout: 20_000 })
      .toString().trim().split("\n")[0];
  } catch {
    return "?";
  }
}

/** Cores, CPU model, memory and the three runtimes' versions. */
export function machine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model?.replace(/\s+/g, " ").trim() ?? "?";
  const mem = (os.totalmem() / 2 ** 30).toFixed(0);
  const here = runtime();
  const node = here === "node" ? process.version : version("node --version");
  const deno = version("npx --no-install deno --version");
  const bun = version("npx --no-install bun --version");
  return `${cpus.length} cores (${model}), ${mem} GiB, ${os.type()} ${os.release()}; ` +
    `Node ${node}, ${deno}, Bun ${bun}`;
}

export function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

const TEMPLATE = `# Benchmarks

Sections 1–4b and 9 are written by \`npm run bench\` (\`node bench/run.mjs\`); each can
also be regenerated alone with the command shown in it, and each says when it
ran. Every figure is a ratio
against a baseline measured in the same run (rounds interleaved), shown as
median (min–max) over the rounds; absolute numbers only appear beside their
baseline. The machine is shared and noisy: compare ratios, not absolutes.

<!-- header:start -->
<!-- header:end -->

<!-- fanout:start -->
<!-- fanout:end -->

<!-- lists:start -->
<!-- lists:end -->

<!-- lists-sockets:start -->
<!-- lists-sockets:end -->

<!-- idle:start -->
<!-- idle:end -->

<!-- stores:start -->
<!-- stores:end -->

<!-- stores-postgres:start -->
<!-- stores-postgres:end -->

<!-- bundle:start -->
<!-- bundle:end -->

<!-- cross:start -->
## 5. Cross-instance latency

Not measured yet: run \`node --import tsx bench/cross_instance.ts\` (not part
of \`npm run bench\`: it starts its own instances on one Redis).
<!-- cross:end -->

<!-- profile:start -->
<!-- profile:end -->
`;

/** Replaces the section `id` of BENCHMARKS.md (created from the template when missing). */
export function writeSection(id: string, markdown: string): void {
  let text = existsSync(BENCHMARKS) ? readFileSync(BENCHMARKS, "utf8") : TEMPLATE;
  const start = `<!-- ${id}:start -->`;
  const end = `<!-- ${id}:end -->`;
  if (!text.includes(start)) {
    // A file from an older layout: insert the section after the one before it in the template.
    const order = [...TEMPLATE.matchAll(/<!-- ([a-z-]+):start -->/g)].map((m) => m[1]);
    // An id the template does not know goes at the end rather than after an arbitrary section.
    const before = order.slice(0, Math.max(0, order.indexOf(id))).reverse().find((s) =>
      text.includes(`<!-- ${s}:end -->`)
    );
    const chunk = `\n\n${start}\n${end}`;
    if (before) {
      const at = text.indexOf(`<!-- ${before}:end -->`) + `<!-- ${before}:end -->`.length;
      text = text.slice(0, at) + chunk + text.slice(at);
    } else text += chunk + "\n";
  }
  const a = text.indexOf(start) + start.length;
  const b = text.indexOf(end);
  text = `${text.slice(0, a)}\n${markdown.trim()}\n${text.slice(b)}`;
  writeFileSync(BENCHMARKS, text);
  formatBenchmarks();
}

/** Keeps BENCHMARKS.md as `deno fmt` wants it (the repo's `check` step runs `deno fmt --check`). */
export function formatBenchmarks(): void {
  try {
    execSync(`"${join(ROOT, "node_modules", ".bin", "deno")}" fmt "${BENCHMARKS}"`, {
      cwd: ROOT,
      stdio: "ignore",
      timeout: 60_000,
    });
  } catch { /* no deno: leave it unformatted */ }
}

/** The section's preamble: date, machine, exact command. */
export function sectionHead(title: string, command: string): string {
  return `## ${title}\n\nRun ${now()} on ${machine()}.\nCommand: \`${command}\`\n`;
}

/** The command line that ran this process, relative to the repo. */
export function commandLine(): string {
  const argv = process.argv.slice(1).map((a) => a.startsWith(ROOT) ? a.slice(ROOT.length + 1) : a);
  const rt = runtime();
  const prefix = rt === "node"
    ? "node --import tsx"
    : rt === "deno"
    ? "npx deno run -A"
    : "npx bun";
  return `${prefix} ${argv.join(" ")}`.trim();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Calls `gc` (several passes) where the runtime exposes one. */
export async function fullGc(): Promise<void> {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  for (let i = 0; i < 4; i++) {
    if (g.Bun) g.Bun.gc(true);
    else g.gc?.();
    await sleep(20);
  }
}

export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Parses `--name value` and `--flag` arguments. `--help` (or `-h`) prints the
 * script's header comment, which gives its usage, and exits: a bench run by
 * mistake would take minutes and write BENCHMARKS.md.
 */
export function args(): Map<string, string> {
  const out = new Map<string, string>();
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    const header = readFileSync(process.argv[1], "utf8").match(/\/\*\*[\s\S]*?\*\//);
    console.log(header ? header[0] : `no usage written in ${process.argv[1]}`);
    process.exit(0);
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith("--")) {
      out.set(a.slice(2), argv[++i]);
    } else out.set(a.slice(2), "true");
  }
  return out;
}

export function numbers(text: string | undefined, fallback: number[]): number[] {
  if (!text) return fallback;
  return text.split(",").map((s) => Number(s.replace(/_/g, "").replace(/k$/i, "000")));
}
