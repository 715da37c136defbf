#!/usr/bin/env node
// Writes the HTML API reference of every entry point (package.json "exports")
// from the JSDoc into docs/api/ (not checked in): `npm run docs`, then open
// docs/api/index.html. `node scripts/doc_lint.mjs` (part of `npm run check`)
// fails on a public symbol without JSDoc.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const local = join(root, "node_modules", ".bin", "deno");
const deno = process.versions.deno ? process.execPath : existsSync(local) ? local : "deno";
const entries = Object.values(
  JSON.parse(readFileSync(join(root, "package.json"), "utf8")).exports,
);
const output = join(root, "docs", "api");
rmSync(output, { recursive: true, force: true });
const r = spawnSync(
  deno,
  ["doc", "--html", "--name=SockSync", `--output=${output}`, ...entries],
  { cwd: root, stdio: "inherit" },
);
if (r.error) throw r.error;
if (r.status !== 0) process.exit(r.status ?? 1);
console.log(`API reference of ${entries.length} entry points: docs/api/index.html`);
