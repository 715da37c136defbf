#!/usr/bin/env node
// A mutation run on the core (src/protocol, src/peer, src/server): applies a
// seeded sample of classic mutations one at a time, runs the fast Node test
// files that cover the mutated folder, and counts a mutant killed when a test
// fails (or the run times out), survived when every test passes. The file is
// restored after each mutant, and on Ctrl-C, SIGTERM or a crash; a mutant left
// behind by a hard kill is restored at the next start (see STATE).
//
// Mutations: comparison and equality operators flipped, && ↔ ||, true ↔ false,
// an `if` condition negated, a statement removed, a number changed, + ↔ -,
// ++ ↔ --. Candidates are found on the source with strings and comments
// masked; a candidate whose compiled JavaScript does not parse, or equals the
// original's (a change in a type only), is dropped before sampling, so every
// sampled mutant changes behaviour at run time.
//
//   node scripts/mutate.mjs [--sample N] [--seed S] [--folder protocol,peer,server]
//                           [--timeout MS] [--list]
//
// --sample is the number of mutants per folder (default 12: about 15 minutes on
// 2 busy cores, at ~20 s per mutant). The same seed
// and sources give the same mutants. Not part of `npm test`: run `npm run mutate`.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import process from "node:process";
import { transformSync } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The fast test files that exercise each folder (each runs in seconds, not minutes). */
const FOLDERS = {
  protocol: {
    dir: "src/protocol",
    tests: [
      "protocol",
      "params",
      "peek_fields",
      "client",
      "client_errors",
      "peer_calls",
      "params_client",
    ],
  },
  peer: {
    dir: "src/peer",
    tests: [
      "protocol",
      "peer_calls",
      "peer_access",
      "symmetry",
      "limits",
      "close_codes",
      "peer_limits_off",
      "client",
      "client_errors",
      "var_fanout",
      "idle_sweep",
    ],
  },
  server: {
    dir: "src/server",
    tests: [
      "protocol",
      "params",
      "var_fanout",
      "list_fanout",
      "topic_group",
      "list_views",
      "hub_types",
      "peer_access",
      "hub_var_feed",
      "presence_property",
    ],
  },
};

// --- arguments ------------------------------------------------------------
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const SAMPLE = Number(arg("sample", 12));
const SEED = Number(arg("seed", Math.floor(Math.random() * 2 ** 31)));
const TIMEOUT_ARG = arg("timeout", undefined);
const ONLY = (arg("folder", "") || Object.keys(FOLDERS).join(",")).split(",");
const LIST = args.includes("--list");

// --- restoring ------------------------------------------------------------
const STATE = join(tmpdir(), `socksync-mutate-${hash(root).toString(16)}.json`);
let applied = null; // { file, original }
let child = null;

function restore() {
  if (applied) {
    writeFileSync(applied.file, applied.original);
    applied = null;
  }
  rmSync(STATE, { force: true });
}

function apply(file, original, mutated) {
  writeFileSync(STATE, JSON.stringify({ file, original }));
  applied = { file, original };
  writeFileSync(file, mutated);
}

if (existsSync(STATE)) {
  const left = JSON.parse(readFileSync(STATE, "utf8"));
  writeFileSync(left.file, left.original);
  rmSync(STATE);
  console.log(`restored ${relative(root, left.file)}, left mutated by an interrupted run`);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (child) killGroup(child);
    restore();
    console.log(`\n${signal}: file restored, stopping`);
    process.exit(130);
  });
}
process.on("exit", restore);
process.on("uncaughtException", (error) => {
  restore();
  console.error(error);
  process.exit(1);
});

// --- sampling -------------------------------------------------------------
/** FNV-1a: a mutant's rank under a seed. */
function hash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The `n` mutants of smallest hash of (seed, file, line text, mutation): a
 * mutant is picked or not whatever the other files hold, so runs before and
 * after a change in one file sample the same mutants elsewhere.
 */
function sampleOf(mutants, n) {
  const seen = new Map();
  const ranked = mutants.map((m) => {
    const id = `${SEED}|${relative(root, m.file)}|${m.text}|${m.what}`;
    const k = (seen.get(id) ?? 0) + 1;
    seen.set(id, k);
    return { m, rank: hash(`${id}|${k}`) };
  });
  return ranked.sort((a, b) => a.rank - b.rank).slice(0, n).map((r) => r.m);
}

// --- finding mutants ------------------------------------------------------
/** The source with comments, strings and template literals blanked (same offsets). */
function mask(src) {
  const out = src.split("");
  const blank = (from, to) => {
    for (let i = from; i < to; i++) if (out[i] !== "\n") out[i] = " ";
  };
  let i = 0;
  let lastSignificant = "";
  while (i < src.length) {
    const c = src[i];
    const next = src[i + 1];
    if (c === "/" && next === "/") {
      const end = src.indexOf("\n", i);
      const stop = end < 0 ? src.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = src.indexOf("*/", i + 2) + 2;
      blank(i, end);
      i = end;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      let depth = 0;
      while (j < src.length) {
        if (src[j] === "\\") j += 2;
        else if (c === "`" && src[j] === "$" && src[j + 1] === "{") depth++, j += 2;
        else if (c === "`" && depth > 0 && src[j] === "}") depth--, j++;
        else if (src[j] === c && depth === 0) break;
        else j++;
      }
      blank(i + 1, j);
      i = j + 1;
      lastSignificant = c;
    } else if (c === "/" && /[(,=:[!&|?{};]/.test(lastSignificant)) {
      // A regular expression literal.
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== "\n") {
        if (src[j] === "\\") j += 2;
        else if (src[j] === "[") inClass = true, j++;
        else if (src[j] === "]") inClass = false, j++;
        else if (src[j] === "/" && !inClass) break;
        else j++;
      }
      blank(i + 1, j);
      i = j + 1;
      lastSignificant = "/";
    } else {
      if (!/\s/.test(c)) lastSignificant = c;
      i++;
    }
  }
  return out.join("");
}

/** The offset just past the parenthesis that closes the one at `open`. */
function closing(masked, open) {
  let depth = 0;
  for (let i = open; i < masked.length; i++) {
    if (masked[i] === "(") depth++;
    else if (masked[i] === ")" && --depth === 0) return i + 1;
  }
  return -1;
}

const SWAPS = [
  [/ === /g, " !== "],
  [/ !== /g, " === "],
  [/ < /g, " <= "],
  [/ <= /g, " < "],
  [/ > /g, " >= "],
  [/ >= /g, " > "],
  [/ && /g, " || "],
  [/ \|\| /g, " && "],
  [/ \?\? /g, " || "],
  [/\btrue\b/g, "false"],
  [/\bfalse\b/g, "true"],
  [/ \+ /g, " - "],
  [/ - /g, " + "],
  [/\+\+/g, "--"],
  [/--(?=[\s;)])/g, "++"],
];

/** Every candidate mutation of one file: { start, end, replacement, what }. */
function candidates(src) {
  const masked = mask(src);
  const found = [];
  for (const [re, replacement] of SWAPS) {
    for (const m of masked.matchAll(re)) {
      found.push({
        start: m.index,
        end: m.index + m[0].length,
        replacement,
        what: `${m[0].trim()} → ${replacement.trim()}`,
      });
    }
  }
  // Numbers (not in identifiers): 1 → 0, a small n → n + 1, a large one (a limit) halved.
  for (const m of masked.matchAll(/(?<![\w.$])\d+(?:_\d+)*(?![\w.])/g)) {
    const n = Number(m[0].replaceAll("_", ""));
    const replacement = String(n === 1 ? 0 : n <= 16 ? n + 1 : Math.floor(n / 2));
    found.push({
      start: m.index,
      end: m.index + m[0].length,
      replacement,
      what: `${m[0]} → ${replacement}`,
    });
  }
  // `if (cond)` → `if (!(cond))`.
  for (const m of masked.matchAll(/\bif \(/g)) {
    const open = m.index + 3;
    const close = closing(masked, open);
    if (close < 0) continue;
    const cond = src.slice(open + 1, close - 1);
    found.push({
      start: open,
      end: close,
      replacement: `(!(${cond}))`,
      what: "if condition negated",
    });
  }
  // A whole one-line statement removed: calls, assignments, returns, throws.
  const lines = masked.split("\n");
  let offset = 0;
  for (const line of lines) {
    const t = line.trim();
    const statement = /;\s*$/.test(t) &&
      !/^(import|export|const |let |var |type |interface |\}|\*|\/)/.test(t) &&
      /^(this\.|await |return\b|throw |[\w$.]+(\[[^\]]*\])?\s*(\(|=|\+=|-=|\+\+|--|\?\.))/.test(
        t,
      ) &&
      count(t, "(") === count(t, ")") && count(t, "{") === count(t, "}") &&
      count(t, "[") === count(t, "]");
    if (statement) {
      const start = offset + line.indexOf(t);
      found.push({
        start,
        end: start + t.length,
        replacement: /^return\b/.test(t) ? "return undefined;" : ";",
        what: "statement removed",
      });
    }
    offset += line.length + 1;
  }
  return found;
}

const count = (s, c) => s.split(c).length - 1;

function compiled(code) {
  try {
    return transformSync(code, { loader: "ts", format: "esm", minifyWhitespace: true }).code;
  } catch {
    return null;
  }
}

function coreFiles(dir) {
  const abs = join(root, dir);
  const out = [];
  for (const entry of readdirSync(abs, { withFileTypes: true })) {
    const path = join(abs, entry.name);
    if (entry.isDirectory()) out.push(...coreFiles(relative(root, path)));
    else if (entry.name.endsWith(".ts") && entry.name !== "mod.ts") out.push(path);
  }
  return out.sort();
}

/** The valid, behaviour-changing mutants of a folder. */
function mutantsOf(dir) {
  const out = [];
  for (const file of coreFiles(dir)) {
    const src = readFileSync(file, "utf8");
    const base = compiled(src);
    for (const c of candidates(src)) {
      const mutated = src.slice(0, c.start) + c.replacement + src.slice(c.end);
      const js = compiled(mutated);
      if (js === null || js === base) continue;
      const line = src.slice(0, c.start).split("\n").length;
      out.push({ file, line, what: c.what, mutated, text: src.split("\n")[line - 1].trim() });
    }
  }
  return out;
}

// --- running --------------------------------------------------------------
function killGroup(proc) {
  try {
    process.kill(-proc.pid, "SIGKILL");
  } catch {
    try {
      proc.kill("SIGKILL");
    } catch { /* gone */ }
  }
}

/** Runs the folder's tests; resolves "passed", "failed" (first failure) or "timeout". */
function runTests(tests, timeout) {
  return new Promise((resolvePromise) => {
    // A file not there yet (a newer test) is left out, so that the run works on older trees.
    const files = tests.map((t) => `tests/${t}_test.ts`).filter((f) => existsSync(join(root, f)));
    child = spawn(
      process.execPath,
      ["--import", "tsx", "--test", "--test-concurrency=2", "--test-reporter=tap", ...files],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    const proc = child;
    let settled = false;
    let firstFailure = "";
    let buffer = "";
    const done = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      killGroup(proc);
      child = null;
      resolvePromise({ result, firstFailure });
    };
    const timer = setTimeout(() => done("timeout"), timeout);
    proc.stdout.on("data", (d) => {
      buffer += d;
      const m = buffer.match(/^\s*not ok \d+ - (.*)$/m);
      if (m) {
        firstFailure = m[1];
        done("failed");
      }
      if (buffer.length > 100_000) buffer = buffer.slice(-10_000);
    });
    proc.stderr.on("data", () => {});
    proc.on("close", (code) => done(code === 0 ? "passed" : "failed"));
  });
}

const folders = Object.entries(FOLDERS).filter(([name]) => ONLY.includes(name));
console.log(`mutation run: seed ${SEED}, ${SAMPLE} mutants per folder`);
const results = [];
for (const [name, folder] of folders) {
  const all = mutantsOf(folder.dir);
  const sample = sampleOf(all, SAMPLE);
  console.log(
    `\n=== ${name}: ${all.length} candidate mutants in ${folder.dir}, ${sample.length} sampled`,
  );
  if (LIST) {
    for (const m of sample) {
      console.log(`  ${relative(root, m.file)}:${m.line}  ${m.what}  | ${m.text}`);
    }
    continue;
  }
  // Baseline: the tests must pass unmutated, and their time sets the per-mutant timeout.
  const started = Date.now();
  const baseline = await runTests(folder.tests, 10 * 60_000);
  const took = Date.now() - started;
  if (baseline.result !== "passed") {
    console.log(`baseline ${baseline.result} (${baseline.firstFailure}): skipping ${name}`);
    results.push({ name, killed: 0, survived: [], timedOut: 0, broken: true });
    continue;
  }
  const timeout = Number(TIMEOUT_ARG) || Math.max(30_000, 3 * took);
  console.log(`baseline passed in ${(took / 1000).toFixed(1)}s; timeout per mutant ${timeout} ms`);
  let killed = 0;
  let timedOut = 0;
  const survived = [];
  for (const [i, m] of sample.entries()) {
    const original = readFileSync(m.file, "utf8");
    apply(m.file, original, m.mutated);
    const t0 = Date.now();
    let outcome;
    try {
      outcome = await runTests(folder.tests, timeout);
    } finally {
      restore();
    }
    const where = `${relative(root, m.file)}:${m.line}`;
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (outcome.result === "passed") survived.push(m);
    else if (outcome.result === "timeout") timedOut++, killed++;
    else killed++;
    const label = outcome.result === "passed"
      ? "SURVIVED"
      : outcome.result === "timeout"
      ? "timeout"
      : "killed";
    console.log(
      `[${i + 1}/${sample.length}] ${label.padEnd(8)} ${where}  ${m.what}  (${secs}s)` +
        (outcome.firstFailure ? `  by: ${outcome.firstFailure.slice(0, 80)}` : ""),
    );
  }
  results.push({ name, killed, survived, timedOut });
}

if (!LIST) {
  console.log(`\n=== mutation score (seed ${SEED})`);
  console.log("folder     killed  survived  score");
  let k = 0;
  let n = 0;
  for (const r of results) {
    if (r.broken) {
      console.log(`${r.name.padEnd(10)} baseline failed`);
      continue;
    }
    const total = r.killed + r.survived.length;
    k += r.killed;
    n += total;
    const score = total ? ((100 * r.killed) / total).toFixed(1) : "-";
    console.log(
      `${r.name.padEnd(10)} ${String(r.killed).padStart(6)}  ${
        String(r.survived.length).padStart(8)
      }  ${score}%` +
        (r.timedOut ? `  (${r.timedOut} by timeout)` : ""),
    );
  }
  console.log(
    `${"core".padEnd(10)} ${String(k).padStart(6)}  ${String(n - k).padStart(8)}  ${
      n ? ((100 * k) / n).toFixed(1) : "-"
    }%`,
  );
  const survivors = results.flatMap((r) => r.survived);
  if (survivors.length) {
    console.log("\nsurvivors:");
    for (const m of survivors) {
      console.log(`  ${relative(root, m.file)}:${m.line}  ${m.what}  | ${m.text}`);
    }
  }
}
