#!/usr/bin/env node
// Runs every check and every test of the repository, in order:
//   check  deno fmt --check, deno lint, deno check, deno check --doc (JSDoc examples),
//          deno publish --dry-run, deno doc --lint over the entry points (scripts/doc_lint.mjs),
//          tsc --erasableSyntaxOnly over mod.ts src/ stores/
//   node   node --import tsx --test tests/*_test.ts
//   deno   deno test -A tests/
//   bun    bun test tests/
// Each step's output streams live (and is captured to read its summary). All
// selected steps run even if one fails; the exit code is 1 if any step failed
// or any runtime passed zero tests. The summary has one line per runtime with its
// cases: leaf tests, counted the same way on every runtime (a `describe` block or a
// test with subtests is no case of its own; a skip is no pass), beside what the
// runner itself reported. The last line is
// `total: N passed (D distinct cases on R runtimes), M failed`.
//
// Pick a subset with arguments or SOCKSYNC_TEST_ONLY (comma separated), and test files with
// SOCKSYNC_TEST_FILES (parts of their names, comma separated):
//   node scripts/test_all.mjs node deno
//   SOCKSYNC_TEST_ONLY=bun npm test
// SOCKSYNC_STEP_TIMEOUT_MS bounds each step (default 15 minutes, so that a hung
// runtime still leaves CI's 90 minutes for the others).
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => {
  const local = join(root, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
};
const DENO = bin("deno");
const BUN = bin("bun");
// Under `deno task test` (or Bun) process.execPath is not Node.
const NODE = process.versions.deno || process.versions.bun ? "node" : process.execPath;
const ALL = ["check", "node", "deno", "bun"];
// SOCKSYNC_TEST_FILES=topic_group,params runs only the test files whose names contain one of those.
const ONLY_FILES = process.env.SOCKSYNC_TEST_FILES?.split(",").map((s) => s.trim()).filter(Boolean);
const STEP_TIMEOUT_MS = Number(process.env.SOCKSYNC_STEP_TIMEOUT_MS) ||
  15 * 60_000;

function selected() {
  const raw = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  const fromEnv = (process.env.SOCKSYNC_TEST_ONLY ?? "").split(",");
  const wanted = [...raw.flatMap((a) => a.split(",")), ...fromEnv]
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (wanted.length === 0) return ALL;
  const unknown = wanted.filter((w) => !ALL.includes(w));
  if (unknown.length) {
    console.error(
      `unknown step(s): ${unknown.join(", ")} (choose from ${ALL.join(", ")})`,
    );
    process.exit(2);
  }
  return ALL.filter((s) => wanted.includes(s));
}

// deno-lint-ignore no-control-regex
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");

let current = null;
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    if (current) killTree(current, "SIGTERM");
    process.exit(130);
  });
}

function killTree(child, signal) {
  try {
    process.kill(-child.pid, signal); // whole process group (detached)
  } catch {
    try {
      child.kill(signal);
    } catch { /* already gone */ }
  }
}

/** Runs one command, streaming and capturing stdout+stderr. */
function run(label, cmd, args) {
  const shown = [cmd.startsWith(root) ? cmd.slice(root.length + 1) : cmd]
    .concat(args).join(" ");
  console.log(`\n=== [${label}] ${shown}`);
  const started = Date.now();
  return new Promise((resolvePromise) => {
    let out = "";
    let timedOut = false;
    const child = spawn(cmd, args, {
      cwd: root,
      env: process.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: process.platform !== "win32",
    });
    current = child;
    const timer = setTimeout(() => {
      timedOut = true;
      console.error(
        `\n!!! [${label}] timed out after ${STEP_TIMEOUT_MS} ms, killing it`,
      );
      killTree(child, "SIGKILL");
    }, STEP_TIMEOUT_MS);
    child.stdout.on("data", (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.stderr.on("data", (d) => {
      out += d;
      process.stdout.write(d);
    });
    const finish = (code, error) => {
      clearTimeout(timer);
      current = null;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const ok = code === 0 && !timedOut && !error;
      const why = error
        ? `could not start: ${error.message}`
        : timedOut
        ? "timed out"
        : `exit code ${code}`;
      console.log(
        `=== [${label}] ${ok ? "ok" : `FAILED (${why})`} in ${seconds}s`,
      );
      resolvePromise({ ok, output: stripAnsi(out) });
    };
    child.on("error", (e) => finish(null, e));
    child.on("close", (code, signal) => finish(signal ? 128 : code));
  });
}

const last = (re, text) => {
  const all = [...text.matchAll(re)];
  return all.length ? Number(all[all.length - 1][1]) : null;
};

const parsers = {
  // TAP `# pass N` or the spec reporter's `ℹ pass N`.
  node: (t) => ({
    passed: last(/^[#ℹ]\s*pass (\d+)\s*$/gm, t),
    failed: last(/^[#ℹ]\s*fail (\d+)\s*$/gm, t),
  }),
  // `ok | 12 passed (3 steps) | 0 failed` / `FAILED | 1 passed | 2 failed (4 steps)`:
  // steps count as tests, as Node's subtests do.
  deno: (t) => {
    const lines = [...t.matchAll(/^(?:ok|FAILED) \|.*$/gm)];
    if (!lines.length) return { passed: null, failed: null };
    const line = lines[lines.length - 1][0];
    const count = (word) => {
      const m = line.match(
        new RegExp(`(\\d+) ${word}(?: \\((\\d+) steps?\\))?`),
      );
      return m ? Number(m[1]) + Number(m[2] ?? 0) : 0;
    };
    return { passed: count("passed"), failed: count("failed") };
  },
  // ` 12 pass` / ` 0 fail`
  bun: (t) => ({
    passed: last(/^\s*(\d+) pass\s*$/gm, t),
    failed: last(/^\s*(\d+) fail\s*$/gm, t),
  }),
};

/**
 * The leaf tests of a runtime's output, as { passed, failed, skipped }: Node's
 * spec reporter and Deno print a parent (a suite, a test with subtests or steps)
 * on a line of its own before its children; Bun prints leaves only.
 */
const cases = {
  node: (text) =>
    leaves(text, /^ℹ tests /m, /^(\s*)▶ (.*)$/, (line) => {
      const m = line.match(/^(\s*)(✔|✖|﹣) (.*?)(?: \([\d.]+m?s\))?(?: # (.*))?$/);
      if (!m) return undefined;
      const skip = m[2] === "﹣" || /^(SKIP|TODO)\b/i.test(m[4] ?? "");
      return {
        indent: m[1],
        name: m[3],
        status: skip ? "skipped" : m[2] === "✔" ? "passed" : "failed",
      };
    }),
  deno: (text) =>
    leaves(text, /^(?:ok|FAILED) \||^ ERRORS /m, /^(\s*)(.*) \.\.\.$/, (line) => {
      const m = line.match(/^(\s*)(.*) \.\.\. (ok|FAILED|ignored)\b/);
      if (!m) return undefined;
      const status = m[3] === "ok" ? "passed" : m[3] === "ignored" ? "skipped" : "failed";
      return { indent: m[1], name: m[2], status };
    }),
  bun: (text) => {
    const count = { passed: 0, failed: 0, skipped: 0 };
    for (const m of text.matchAll(/^\((pass|fail|skip|todo)\) /gm)) {
      count[m[1] === "pass" ? "passed" : m[1] === "fail" ? "failed" : "skipped"]++;
    }
    return count;
  },
};

function leaves(text, end, parentLine, resultLine) {
  const stop = text.search(end);
  const lines = (stop < 0 ? text : text.slice(0, stop)).split("\n");
  const parents = new Set();
  for (const line of lines) {
    const m = line.match(parentLine);
    if (m) parents.add(`${m[1]}${m[2]}`);
  }
  const count = { passed: 0, failed: 0, skipped: 0 };
  for (const line of lines) {
    const r = resultLine(line);
    if (r && !parents.has(`${r.indent}${r.name}`)) count[r.status]++;
  }
  return count;
}

function testFiles() {
  const dir = join(root, "tests");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith("_test.ts"))
    .filter((f) => !ONLY_FILES || ONLY_FILES.some((part) => f.includes(part)))
    .sort()
    .map((f) => `tests/${f}`);
}

const steps = selected();
const rows = [];
let anyFailed = false;

for (const step of steps) {
  if (step === "check") {
    const checks = [
      ["fmt", ["fmt", "--check"]],
      ["lint", ["lint"]],
      ["check", ["check"]],
      // Every @example in JSDoc type-checks (imports of "socksync" resolve through deno.json's
      // import map to the local entry points).
      ["check --doc", ["check", "--doc", "mod.ts", "src/", "stores/"]],
      // JSR publishes the same sources: no slow types, every export resolvable.
      ["publish", ["publish", "--dry-run", "--allow-dirty"]],
      // Every public symbol of every entry point has JSDoc (deno doc --lint).
      ["doc --lint", [join(root, "scripts", "doc_lint.mjs")], NODE],
      // Erasable syntax only, so that a client project (Vite's templates, Node's type stripping)
      // can import the server's types.
      ["erasable", ["-p", "scripts/tsconfig.erasable.json"], bin("tsc")],
    ];
    const failedChecks = [];
    for (const [name, args, cmd = DENO] of checks) {
      const r = await run(cmd === DENO ? `deno ${name}` : name, cmd, args);
      if (!r.ok) failedChecks.push(name);
    }
    const ok = failedChecks.length === 0;
    if (!ok) anyFailed = true;
    rows.push({
      step: "check",
      ok,
      passed: checks.length - failedChecks.length,
      failed: failedChecks.length,
      note: ok
        ? "fmt, lint, check, check --doc, publish, doc --lint, erasable"
        : `failed: ${failedChecks.join(", ")}`,
    });
    continue;
  }

  let r;
  if (step === "node") {
    const files = testFiles();
    r = await run("node", NODE, [
      "--import",
      "tsx",
      "--test",
      "--test-concurrency=2",
      // No single test may hang the step: 10 minutes covers the package build and install.
      "--test-timeout=600000",
      "--test-reporter=spec",
      ...files,
    ]);
  } else if (step === "deno") {
    r = await run("deno", DENO, ["test", "-A", ...(ONLY_FILES ? testFiles() : ["tests/"])]);
  } else {
    const files = ONLY_FILES ? testFiles().map((f) => `./${f}`) : ["tests/"];
    r = await run("bun", BUN, ["test", "--timeout", "60000", ...files]);
  }
  const { passed, failed } = parsers[step](r.output);
  const leaf = cases[step](r.output);
  const notes = [`runner: ${passed ?? "?"} passed, ${failed ?? "?"} failed`];
  if (leaf.skipped) notes.push(`${leaf.skipped} skipped`);
  if (!r.ok) notes.push("exited with failure");
  if (passed === null) notes.push("no summary found");
  else if (passed === 0) notes.push("zero tests passed");
  if (failed) notes.push(`${failed} failed`);
  const ok = r.ok && !!passed && !failed && leaf.passed > 0 && !leaf.failed;
  if (!ok) anyFailed = true;
  rows.push({
    step,
    ok,
    passed: leaf.passed,
    failed: Math.max(leaf.failed, failed ? 1 : 0),
    cases: leaf.passed + leaf.failed + leaf.skipped,
    note: notes.join("; "),
  });
}

console.log("\n=== summary");
console.log("step    result  passed  failed  note (passed and failed count cases: leaf tests)");
for (const row of rows) {
  console.log(
    [
      row.step.padEnd(7),
      (row.ok ? "ok" : "FAILED").padEnd(7),
      String(row.passed).padStart(6),
      String(row.failed).padStart(7),
      "",
      row.note,
    ].join(" "),
  );
}
const failedSteps = rows.filter((r) => !r.ok).map((r) => r.step);
if (failedSteps.length) console.log(`failed steps: ${failedSteps.join(", ")}`);
// Test totals count the runtimes' tests only (not the three checks).
const tests = rows.filter((r) => r.step !== "check");
const totalPassed = tests.reduce((n, r) => n + r.passed, 0);
// The same suite on every runtime: its distinct cases are the most any runtime saw.
const distinct = tests.reduce((n, r) => Math.max(n, r.cases), 0);
// A failed step with no failing test of its own still counts as one failure.
const totalFailed = rows.reduce(
  (n, r) => n + (r.ok ? 0 : Math.max(r.failed, 1)),
  0,
);
console.log(
  `total: ${totalPassed} passed (${distinct} distinct cases on ${tests.length} runtime${
    tests.length === 1 ? "" : "s"
  }), ${totalFailed} failed`,
);
process.exit(anyFailed ? 1 : 0);
