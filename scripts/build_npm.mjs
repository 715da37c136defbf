#!/usr/bin/env node
// Builds the npm package: dist/socksync-<version>.tgz.
//
//   npm run build:npm        (Node)
//   deno task build:npm      (Deno)
//
// 1. Stages the sources in a temp dir, with deno.json `exports` reduced to the
//    entry points whose files exist (a missing one is a warning, or an error
//    with --strict), plus every other module of src/ and stores/ as a
//    temporary entry point so that each one gets its .d.ts.
// 2. `deno pack` transpiles to .js, writes .d.ts (no slow types), rewrites
//    `.ts` specifiers and writes a package.json with `exports`.
// 3. Unpacks it, keeps the public entry points only, drops modules no entry
//    point reaches, fails if a module that stays has no .d.ts, names the
//    package `socksync`, adds metadata and the npm dependencies each entry
//    point really imports (the root's optional `peerDependencies` as such,
//    everything else, Hono and its Node adapter included, as `dependencies`), then
//    `npm pack`s it into dist/.
//
// Prints one JSON line `BUILD_RESULT {...}` at the end (tarball path, entry
// points, packages per entry point) for tests/package_test.ts.
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const strict = process.argv.includes("--strict");
const keep = process.argv.includes("--keep");
// Without .d.ts files TypeScript users get `any`: refuse unless asked.
const allowSlowTypes = process.argv.includes("--allow-slow-types");
const NPM_NAME = "socksync";

const denoJson = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
const pkgJson = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const version = denoJson.version ?? pkgJson.version;

function denoBin() {
  if (process.versions.deno) return process.execPath;
  const local = join(root, "node_modules", ".bin", "deno");
  return existsSync(local) ? local : "deno";
}

function sh(cmd, args, cwd) {
  console.log(`$ ${[cmd, ...args].join(" ")}`);
  try {
    return execFileSync(cmd, args, {
      cwd,
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
      // npm is npm.cmd on Windows
      shell: process.platform === "win32",
    });
  } catch (e) {
    console.error(
      `error: ${cmd} ${args[0]} failed (${e.status ?? e.code ?? e.message})`,
    );
    if (!keep) {
      rmSync(work, { recursive: true, force: true });
    }
    process.exit(1);
  }
}

// --- 1. stage --------------------------------------------------------------
const exportsAll = typeof denoJson.exports === "string"
  ? { ".": denoJson.exports }
  : denoJson.exports;
const exportsOk = {};
const missing = [];
for (const [key, target] of Object.entries(exportsAll)) {
  if (existsSync(join(root, target))) exportsOk[key] = target;
  else missing.push(`${key} -> ${target}`);
}
if (missing.length) {
  const msg = `entry points whose file does not exist: ${missing.join(", ")}`;
  if (strict) {
    console.error(`error: ${msg}`);
    process.exit(1);
  }
  console.warn(`warning: ${msg} (left out of the package)`);
}
if (!exportsOk["."]) {
  console.error("error: the main entry point (.) is missing");
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), "socksync-build-"));
const stage = join(work, "stage");
mkdirSync(stage);
const SKIP = new Set([
  "node_modules",
  ".git",
  "dist",
  "data",
  "tests",
  "demo",
  "examples",
  "bench",
  "scripts",
  ".ci",
]);
for (const entry of readdirSync(root)) {
  if (SKIP.has(entry) || entry.startsWith(".")) continue;
  cpSync(join(root, entry), join(stage, entry), { recursive: true });
}
// Bare specifiers resolve through package.json + node_modules.
symlinkSync(
  join(root, "node_modules"),
  join(stage, "node_modules"),
  process.platform === "win32" ? "junction" : "dir",
);
// deno pack copies package.json as an asset over the one it generates.
rmSync(join(stage, "package.json"));
writeFileSync(
  join(stage, "package.json"),
  JSON.stringify({
    type: "module",
    dependencies: {
      ...pkgJson.peerDependencies,
      ...pkgJson.devDependencies,
      ...pkgJson.optionalDependencies,
      ...pkgJson.dependencies,
    },
  }),
);
rmSync(join(stage, "package-lock.json"), { force: true });
// deno pack writes a .d.ts only for the modules a public type refers to; an
// internal module (an adapter, the order keys, ...) would ship as .js alone.
// Every module becomes an entry point while packing, so each gets its .d.ts;
// the package's own `exports` keep only the public ones (step 3).
const INTERNAL_PREFIX = "./__module__/";
const internalExports = {};
const publicFiles = new Set(Object.values(exportsOk).map((f) => posix.normalize(f)));
for (const dir of ["src", "stores"]) {
  (function walk(rel) {
    for (const name of readdirSync(join(root, rel))) {
      const path = `${rel}/${name}`;
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (
        name.endsWith(".ts") && !name.endsWith(".d.ts") && !name.endsWith("_test.ts") &&
        !publicFiles.has(path)
      ) internalExports[`${INTERNAL_PREFIX}${path.slice(0, -3)}`] = `./${path}`;
    }
  })(dir);
}
writeFileSync(
  join(stage, "deno.json"),
  JSON.stringify(
    {
      ...denoJson,
      exports: { ...exportsOk, ...internalExports },
      publish: {
        ...denoJson.publish,
        exclude: [
          ...(denoJson.publish?.exclude ?? []),
          "package.json",
          "node_modules/",
        ],
      },
    },
    null,
    2,
  ),
);

// --- 2. deno pack ----------------------------------------------------------
const packed = join(work, "deno-pack.tgz");
sh(denoBin(), [
  "pack",
  "--allow-dirty",
  "--no-source-maps",
  "--set-version",
  version,
  "-o",
  packed,
  ...(allowSlowTypes ? ["--allow-slow-types"] : []),
], stage);

// --- 3. rewrite and npm pack ----------------------------------------------
const unpacked = join(work, "unpacked");
mkdirSync(unpacked);
sh("tar", ["xzf", packed, "-C", unpacked], work);
const pkgDir = join(unpacked, "package");

const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else files.push(relative(pkgDir, p).split("\\").join("/"));
  }
})(pkgDir);
// Sources outside the module graph are copied raw; a .ts file in an npm
// package is useless to Node, so drop it.
for (const f of files) {
  if (f.endsWith(".ts") && !f.endsWith(".d.ts")) {
    console.warn(`warning: dropping ${f} (not reachable from any entry point)`);
    rmSync(join(pkgDir, f));
  }
}

const generated = JSON.parse(
  readFileSync(join(pkgDir, "package.json"), "utf8"),
);
for (const key of Object.keys(generated.exports)) {
  if (key.startsWith(INTERNAL_PREFIX)) delete generated.exports[key];
}
const untyped = Object.entries(generated.exports)
  .filter(([, e]) => typeof e === "string" || !e.types)
  .map(([key]) => key);
if (untyped.length) {
  const msg = `deno pack wrote no .d.ts for ${untyped.join(", ")}: ` +
    "fix the slow types it lists above (or pass --allow-slow-types)";
  if (allowSlowTypes) console.warn(`warning: ${msg}`);
  else {
    console.error(`error: ${msg}`);
    process.exitCode = 1;
  }
}

// Import graph of the emitted JS: relative edges and bare packages per file.
const IMPORT_RE =
  /(?:^|[\s;}])(?:import|export)\s*(?:[^'"`;]*?\sfrom\s*)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
const graph = new Map();
// Blanks out comments (JSDoc examples contain imports), keeping strings.
function stripComments(src) {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    if (c === "/" && n === "*") {
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? src.length : end + 2;
      out += " ";
    } else if (c === "/" && n === "/") {
      const end = src.indexOf("\n", i);
      i = end < 0 ? src.length : end;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
function scan(rel) {
  if (graph.has(rel)) return graph.get(rel);
  const node = { local: [], bare: new Set() };
  graph.set(rel, node);
  if (!existsSync(join(pkgDir, rel))) {
    console.error(
      `error: a module imports ${rel}, which is not in the package`,
    );
    process.exitCode = 1;
    return node;
  }
  const src = stripComments(readFileSync(join(pkgDir, rel), "utf8"));
  for (const m of src.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    if (spec.startsWith(".")) {
      node.local.push(posix.normalize(posix.join(posix.dirname(rel), spec)));
    } else if (/^(node|bun|deno|npm|jsr|https?):/.test(spec)) {
      if (/^(npm|jsr|https?):/.test(spec)) {
        console.error(`error: ${rel} imports "${spec}", which Node can't load`);
        process.exitCode = 1;
      }
    } else {
      const parts = spec.split("/");
      node.bare.add(
        spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0],
      );
    }
  }
  for (const l of node.local) scan(l);
  return node;
}
// Every file some entry point loads, or its types refer to.
const reached = new Set();
function reach(rel, mapLocal = (f) => f) {
  const seen = reached;
  const bare = new Set();
  const stack = [rel];
  const visited = new Set();
  while (stack.length) {
    const f = stack.pop();
    if (visited.has(f)) continue;
    visited.add(f);
    seen.add(f);
    const n = scan(f);
    n.bare.forEach((b) => bare.add(b));
    stack.push(...n.local.map(mapLocal));
  }
  return [...bare].sort();
}
const entryFile = (key, cond) => {
  const e = generated.exports[key];
  const f = typeof e === "string" ? e : cond === "types" ? e.types : e.import ?? e.default;
  return f?.replace(/^\.\//, "");
};
// In .d.ts files `./x.js` means `./x.d.ts`.
const asDts = (f) => f.replace(/\.js$/, ".d.ts");
// Runtime graph (what importing the entry point loads) and types graph
// (what a type-checking consumer needs) per entry point.
const perEntry = {};
const perEntryTypes = {};
for (const key of Object.keys(generated.exports)) {
  perEntry[key] = reach(entryFile(key, "import"));
  const types = entryFile(key, "types");
  perEntryTypes[key] = types ? reach(types, asDts) : [];
}

// Modules packed only to get their .d.ts and that no entry point reaches
// (dead code) go; every module that stays must have its .d.ts.
const untypedModules = [];
(function prune(dir) {
  for (const name of readdirSync(join(pkgDir, dir))) {
    const rel = dir ? `${dir}/${name}` : name;
    if (statSync(join(pkgDir, rel)).isDirectory()) {
      prune(rel);
      continue;
    }
    const js = rel.endsWith(".d.ts") ? rel.slice(0, -5) + ".js" : rel;
    if (!js.endsWith(".js")) continue;
    if (!reached.has(js) && !reached.has(rel)) {
      if (rel === js) console.warn(`warning: dropping ${rel} (no entry point loads it)`);
      rmSync(join(pkgDir, rel));
    } else if (rel === js && !existsSync(join(pkgDir, asDts(js)))) untypedModules.push(rel);
  }
})("");
if (untypedModules.length) {
  const msg = `no .d.ts for ${untypedModules.join(", ")} (see deno pack's output above)`;
  if (allowSlowTypes) console.warn(`warning: ${msg}`);
  else {
    console.error(`error: ${msg}`);
    process.exitCode = 1;
  }
}

const known = {
  ...pkgJson.devDependencies,
  ...pkgJson.optionalDependencies,
  ...pkgJson.dependencies,
  ...pkgJson.peerDependencies,
};
const range = (name) => {
  if (!known[name]) {
    console.error(`error: "${name}" is imported but not in package.json`);
    process.exitCode = 1;
    return "*";
  }
  return known[name];
};
// The root package.json says what ships: its peerDependencies (database
// drivers, UI frameworks) are the user's choice, optional peers here too (a
// store without its driver says which package to install). Everything else
// an entry point imports is a plain dependency, Hono and its Node adapter
// included: serving is what the package is for, so `npm install socksync`
// alone serves. tests/package_test.ts checks that both manifests agree.
const PEERS = new Set(Object.keys(pkgJson.peerDependencies ?? {}));
const dependencies = {};
const peerDependencies = {};
const peerDependenciesMeta = {};
const needed = [
  ...Object.values(perEntry).flat(),
  ...Object.values(perEntryTypes).flat(),
];
for (const name of [...new Set(needed)].sort()) {
  if (!PEERS.has(name)) dependencies[name] = range(name);
  else {
    peerDependencies[name] = range(name);
    peerDependenciesMeta[name] = { optional: true };
  }
}
// Declared peers and the drivers stay even when no static import shows them
// (a driver loaded through a variable specifier, like better-sqlite3).
for (const name of PEERS) {
  const r = pkgJson.peerDependencies?.[name] ?? known[name];
  if (!r) continue;
  peerDependencies[name] ??= r;
  peerDependenciesMeta[name] ??= pkgJson.peerDependenciesMeta?.[name] ??
    { optional: true };
}
for (const name of perEntry["."]) {
  if (PEERS.has(name)) {
    console.warn(`warning: the main entry point imports "${name}"`);
  }
}

const out = {
  name: NPM_NAME,
  version,
  description: pkgJson.description,
  keywords: pkgJson.keywords ?? ["websocket", "realtime", "sync"],
  license: denoJson.license ?? pkgJson.license,
  repository: pkgJson.repository ?? {
    type: "git",
    url: "git+https://github.com/socksync/socksync.git",
  },
  type: "module",
  sideEffects: false,
  engines: pkgJson.engines ?? { node: ">=20" },
  main: generated.main,
  types: generated.types,
  exports: { ...generated.exports, "./package.json": "./package.json" },
  dependencies,
  ...(Object.keys(peerDependencies).length ? { peerDependencies, peerDependenciesMeta } : {}),
};
writeFileSync(
  join(pkgDir, "package.json"),
  JSON.stringify(out, null, 2) + "\n",
);

if (process.exitCode) {
  if (keep) console.error(`build failed; work dir kept at ${work}`);
  else {
    rmSync(work, { recursive: true, force: true });
    console.error("build failed (--keep keeps its work dir)");
  }
  process.exit(1);
}

const dist = join(root, "dist");
mkdirSync(dist, { recursive: true });
const tgzName = `${NPM_NAME}-${version}.tgz`;
rmSync(join(dist, tgzName), { force: true });
sh("npm", ["pack", "--pack-destination", dist, "--silent"], pkgDir);
const tarball = join(dist, tgzName);
if (!existsSync(tarball)) {
  console.error(`error: npm pack did not write ${tarball}`);
  process.exit(1);
}
if (!keep) rmSync(work, { recursive: true, force: true });

console.log(`\nbuilt ${relative(root, tarball)}`);
console.log("entry points and the packages they load (+ for types only):");
for (const [key, deps] of Object.entries(perEntry)) {
  const typesOnly = perEntryTypes[key].filter((d) => !deps.includes(d));
  const all = [...deps, ...typesOnly.map((d) => `+${d}`)];
  console.log(`  ${key.padEnd(16)} ${all.join(", ") || "(none)"}`);
}
console.log(`dependencies: ${JSON.stringify(dependencies)}`);
console.log(`optional peerDependencies: ${JSON.stringify(peerDependencies)}`);
console.log(
  "BUILD_RESULT " +
    JSON.stringify({
      tarball,
      version,
      missing,
      entries: perEntry,
      types: perEntryTypes,
    }),
);
