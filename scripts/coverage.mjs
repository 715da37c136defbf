#!/usr/bin/env node
// Coverage of the Node run: the whole Node suite (or the test files named as
// arguments) under c8, which collects V8's coverage from every Node process the
// tests start and maps it back to the TypeScript through the source maps tsx
// emits; then one line per folder with line and branch figures.
//
//   npm run coverage                      # every tests/*_test.ts
//   node scripts/coverage.mjs tests/params_test.ts tests/topic_group_test.ts
//
// Servers the tests spawn on Deno or Bun are not counted (V8 coverage is Node's).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const c8 = join(root, "node_modules", ".bin", "c8");
if (!existsSync(c8)) {
  console.error("c8 is missing: npm install (it is a devDependency)");
  process.exit(2);
}
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(join(root, "tests")).filter((f) => f.endsWith("_test.ts")).sort().map((f) =>
    `tests/${f}`
  );
const out = mkdtempSync(join(tmpdir(), "socksync-coverage-"));

/** The folders reported, in order; a file counts in the first that holds it. */
const FOLDERS = [
  "src/protocol",
  "src/peer",
  "src/server",
  "src/client",
  "src/ui",
  "src/serve",
  "src/testing",
  "src",
  ...readdirSync(join(root, "stores"), { withFileTypes: true })
    .filter((d) => d.isDirectory()).map((d) => `stores/${d.name}`).sort(),
];

const code = await new Promise((done) => {
  const child = spawn(c8, [
    "--reporter=json-summary",
    "--reporter=text-summary",
    `--reports-dir=${out}`,
    `--temp-directory=${join(out, "raw")}`,
    "--include=src/**",
    "--include=stores/**",
    "--exclude-after-remap",
    process.execPath,
    "--enable-source-maps",
    "--import",
    "tsx",
    "--test",
    "--test-concurrency=2",
    "--test-timeout=600000",
    ...files,
  ], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  // The TAP stream stays quiet but for the failures, named at the end.
  let tap = "";
  child.stdout.on("data", (d) => tap += d);
  child.on("close", (status) => {
    const failures = tap.split("\n").filter((line) => /^\s*not ok /.test(line));
    if (failures.length) console.log(`failing:\n${failures.join("\n")}`);
    done(status);
  });
});

try {
  const summary = JSON.parse(readFileSync(join(out, "coverage-summary.json"), "utf8"));
  const rows = new Map(FOLDERS.map((f) => [f, { lines: [0, 0], branches: [0, 0], files: 0 }]));
  for (const [file, figures] of Object.entries(summary)) {
    if (file === "total") continue;
    const rel = relative(root, file).split(sep).join("/");
    const folder = FOLDERS.find((f) => rel.startsWith(`${f}/`));
    if (!folder) continue;
    const row = rows.get(folder);
    row.files++;
    row.lines[0] += figures.lines.covered;
    row.lines[1] += figures.lines.total;
    row.branches[0] += figures.branches.covered;
    row.branches[1] += figures.branches.total;
  }
  const pct = ([covered, total]) => total ? `${(100 * covered / total).toFixed(1)}%` : "-";
  const cell = (pair) => `${pct(pair).padStart(6)} (${pair[0]}/${pair[1]})`.padEnd(22);
  console.log(`\ncoverage of the Node run (${files.length} test files)`);
  console.log(`${"folder".padEnd(16)} ${"lines".padEnd(22)} branches`);
  for (const [folder, row] of rows) {
    if (!row.files) continue;
    const name = folder === "src" ? "src (top level)" : folder;
    console.log(`${name.padEnd(16)} ${cell(row.lines)} ${cell(row.branches)}`);
  }
  const total = summary.total;
  console.log(
    `${"all".padEnd(16)} ${cell([total.lines.covered, total.lines.total])} ${
      cell([total.branches.covered, total.branches.total])
    }`,
  );
  if (code !== 0) console.log(`\nthe tests failed (exit ${code}): figures are of a failing run`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
process.exit(code === 0 ? 0 : 1);
