#!/usr/bin/env node
// `deno doc --lint` over every entry point (package.json "exports"): a public
// symbol without JSDoc, or a public type that refers to one of our types no
// entry point exports, fails (exit code 1).
//
// One kind of diagnostic is dropped: a `private-type-ref` to a type of
// another package (valibot's `GenericSchema`, Hono's `Context`, Vue's
// `MaybeRefOrGetter`, ...), which that package documents, not us. Deno resolves
// npm packages through node_modules here, so it cannot tell them from our own
// modules (denoland/deno#27364, fixed upstream by denoland/deno#34339); a
// reference counts as another package's when the file it is in imports that
// name, or the namespace it is read from, from a bare specifier.
//
//   node scripts/doc_lint.mjs
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const local = join(root, "node_modules", ".bin", "deno");
const deno = process.versions.deno ? process.execPath : existsSync(local) ? local : "deno";
const entries = Object.values(
  JSON.parse(readFileSync(join(root, "package.json"), "utf8")).exports,
);

const r = spawnSync(deno, ["doc", "--lint", ...entries], {
  cwd: root,
  encoding: "utf8",
  env: { ...process.env, NO_COLOR: "1" },
});
if (r.error) throw r.error;
const output = `${r.stdout}${r.stderr}`;

/** Names a file imports from other packages, and its namespace imports of them. */
const foreign = new Map();
function foreignNames(file) {
  if (foreign.has(file)) return foreign.get(file);
  const names = new Set();
  const namespaces = new Set();
  const src = readFileSync(file, "utf8");
  const IMPORT = /^import\s+(?:type\s+)?([^;]*?)\s+from\s+["']([^"']+)["']/gms;
  for (const [, clause, spec] of src.matchAll(IMPORT)) {
    if (spec.startsWith(".") || spec.startsWith("/")) continue;
    const ns = /\*\s+as\s+([\w$]+)/.exec(clause);
    if (ns) namespaces.add(ns[1]);
    const braces = /\{([^}]*)\}/.exec(clause);
    for (const part of braces ? braces[1].split(",") : []) {
      const m = /^(?:type\s+)?([\w$]+)(?:\s+as\s+([\w$]+))?$/.exec(part.trim());
      if (m) names.add(m[2] ?? m[1]);
    }
  }
  const found = { names, namespaces, src };
  foreign.set(file, found);
  return found;
}

function isForeign(file, name) {
  const { names, namespaces, src } = foreignNames(file);
  if (names.has(name)) return true;
  return [...namespaces].some((ns) => new RegExp(`\\b${ns}\\.${name}\\b`).test(src));
}

// Each diagnostic starts with `error[kind]: message` and names its place on a `-->` line.
const blocks = output
  .replace(/^error: Found \d+ documentation lint errors?\.$/m, "")
  .split(/\n(?=error\[)/)
  .filter((b) => b.startsWith("error["));
const kept = blocks.filter((block) => {
  const ref = /^error\[private-type-ref\]: .* references private type '([^']+)'/.exec(block);
  if (!ref) return true;
  const at = /-->\s+(.+?):\d+:\d+/.exec(block);
  return !(at && isForeign(at[1], ref[1]));
});

for (const block of kept) console.log(block.trimEnd() + "\n");
const dropped = blocks.length - kept.length;
if (kept.length) {
  console.log(
    `deno doc --lint: ${kept.length} problem(s) in ${entries.length} entry points` +
      ` (${dropped} reference(s) to other packages' types left out)`,
  );
  process.exit(1);
}
if (r.status !== 0 && blocks.length === 0) {
  console.log(output);
  console.log(`deno doc --lint failed (exit code ${r.status})`);
  process.exit(1);
}
console.log(
  `deno doc --lint: ${entries.length} entry points documented` +
    ` (${dropped} reference(s) to other packages' types left out)`,
);
