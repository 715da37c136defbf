#!/usr/bin/env node
/**
 * `npm run bench`: runs every benchmark in turn, each in its own process,
 * each rewriting its own section of BENCHMARKS.md, then writes the header
 * (date, machine, the exact command, the per-section commands). Budget: under
 * 10 minutes on the 2-core machine. With `--only` or `--quick` the sections
 * run rewrite themselves but the header, which speaks of the last full run,
 * is left as it is.
 *
 *   node bench/run.mjs [--only fanout,lists,idle,stores,stores-postgres,bundle] [--quick]
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const onlyAt = argv.indexOf("--only");
const only = onlyAt >= 0 ? argv[onlyAt + 1].split(",") : undefined;
const TSX = [process.execPath, "--expose-gc", "--import", "tsx"];

const STEPS = [
  {
    id: "fanout",
    cmd: [
      ...TSX,
      "bench/fanout.ts",
      ...(quick ? ["--sizes", "100,1000", "--rounds", "3"] : ["--rounds", "7"]),
    ],
  },
  {
    id: "lists",
    cmd: [
      ...TSX,
      "bench/list_views.ts",
      ...(quick ? ["--sizes", "100,1000", "--rounds", "3"] : []),
    ],
  },
  {
    id: "lists-sockets",
    cmd: [
      ...TSX,
      "bench/list_sockets.ts",
      ...(quick ? ["--rounds", "2"] : ["--n", "1000", "--rounds", "5"]),
    ],
  },
  {
    id: "idle",
    cmd: [...TSX, "bench/idle_memory.ts", ...(quick ? ["--n", "1000", "--rounds", "2"] : [])],
  },
  {
    id: "stores",
    cmd: [
      ...TSX,
      "bench/stores.ts",
      ...(quick ? ["--sizes", "10000,100000", "--rounds", "2"] : []),
    ],
  },
  {
    // Needs PostgreSQL (127.0.0.1:5432, or POSTGRES_URL); marked FAILED without it.
    id: "stores-postgres",
    cmd: [
      ...TSX,
      "bench/stores_postgres.ts",
      "--write",
      ...(quick ? ["--sizes", "10000,100000", "--rounds", "2", "--latency", "100"] : []),
    ],
  },
  {
    // A few seconds: no server, no rounds (esbuild and gzip are deterministic).
    id: "bundle",
    cmd: [...TSX, "bench/bundle_size.ts"],
  },
];

const started = Date.now();
const done = [];
for (const step of STEPS) {
  if (only && !only.includes(step.id)) continue;
  const t0 = Date.now();
  console.error(`bench: ${step.id}: ${step.cmd.slice(1).join(" ")}`);
  const r = spawnSync(step.cmd[0], step.cmd.slice(1), {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
    timeout: 8 * 60_000,
  });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  done.push({
    ...step,
    status: r.status === 0 ? `ok, ${secs} s` : `FAILED (${r.status ?? r.signal}), ${secs} s`,
  });
}

const total = ((Date.now() - started) / 1000).toFixed(0);
const command = `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`;
const header = [
  `Last full run: ${
    new Date().toISOString().replace(/\.\d+Z$/, "Z")
  }, \`${command}\` (\`node bench/run.mjs\`), ${total} s in all.`,
  "",
  "Each section can be regenerated alone (from the repo root; Node servers and clients are pinned with `taskset`):",
  "",
  ...done.map((s) => `- ${s.id}: \`node ${s.cmd.slice(1).join(" ")}\` — ${s.status}`),
  "- fan-out server alone on each runtime: `node --expose-gc --import tsx bench/fanout_server.ts raw|socksync|socketio`, " +
  "`npx deno run -A --v8-flags=--expose-gc bench/fanout_server.ts raw|socksync|ws|native`, `npx bun bench/fanout_server.ts raw|socksync` " +
  "(stdin commands: `fire N`, `mark`, `cpu`, `mem`, `quit`)",
  "- list views in process on Deno / Bun: `npx deno run -A bench/list_views.ts`, `npx bun bench/list_views.ts`",
].join("\n");

const file = join(ROOT, "BENCHMARKS.md");
const full = !only && !quick;
if (!full) console.error("bench: a partial run: the header (last full run) is left as it is");
if (existsSync(file)) {
  let text = readFileSync(file, "utf8");
  const a = text.indexOf("<!-- header:start -->");
  const b = text.indexOf("<!-- header:end -->");
  if (full && a >= 0 && b > a) {
    text = `${text.slice(0, a + "<!-- header:start -->".length)}\n${header}\n${text.slice(b)}`;
    writeFileSync(file, text);
  }
  // The repo's `check` step runs `deno fmt --check` over Markdown too.
  spawnSync(join(ROOT, "node_modules", ".bin", "deno"), ["fmt", file], {
    cwd: ROOT,
    stdio: "ignore",
  });
}
console.error(`bench: done in ${total} s`);
process.exit(done.every((s) => s.status.startsWith("ok")) ? 0 : 1);
