/**
 * The layout rules, checked over the sources (mod.ts, src/, stores/):
 * - no import cycle (type-only imports count: a cycle of types is still two
 *   modules that cannot be read one without the other);
 * - the core never touches a runtime's own API (`Deno.`, `Bun.`, `process.`,
 *   `node:` imports): only the adapters (src/serve/adapter/), the stores
 *   (stores/) and the test kit (src/testing/) may;
 * - each layer imports only the layers below it (see `LAYERS`), type-only
 *   imports included: a type names the module it comes from just as a value does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, posix, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Repository-relative paths (with `/`) of every source module. */
function sources(): string[] {
  const files = ["mod.ts"];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const rel = `${dir}/${name}`;
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (name.endsWith(".ts") && !name.endsWith("_test.ts")) files.push(rel);
    }
  };
  walk("src");
  walk("stores");
  return files;
}

/**
 * The code with comments blanked out (JSDoc examples hold imports), strings
 * and template literals kept, line breaks kept so that line numbers hold.
 */
function stripComments(src: string): string {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    if (c === "/" && n === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === "/" && n === "/") {
      const end = src.indexOf("\n", i);
      i = end < 0 ? src.length : end;
    } else if (c === "/" && startsRegex(out)) {
      // A regular expression literal may hold quotes; copy it whole.
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== "\n" && (inClass || src[j] !== "/")) {
        if (src[j] === "[") inClass = true;
        else if (src[j] === "]") inClass = false;
        j += src[j] === "\\" ? 2 : 1;
      }
      out += src.slice(i, j + 1);
      i = j + 1;
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

/** Whether a `/` after this code starts a regular expression, not a division. */
function startsRegex(before: string): boolean {
  const code = before.trimEnd();
  return code === "" || /[(,=:[!&|?{};+\-*%<>~^]$/.test(code) ||
    /\b(?:return|typeof|case|do|else|in|of|yield|await)$/.test(code);
}

/** Blanks out the contents of string literals (a message may say "Deno."). */
function stripStrings(code: string): string {
  return code.replace(
    /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g,
    (s) => s[0] + " ".repeat(s.length - 2) + s[0],
  );
}

const IMPORT_RE =
  /(?:^|[\s;}])(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\sfrom\s*)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

interface Module {
  /** Specifiers imported, static, dynamic and type-only alike. */
  imports: { spec: string; line: number }[];
  code: string;
}

const lineOf = (code: string, index: number) => code.slice(0, index).split("\n").length;

function parse(file: string): Module {
  const code = stripComments(readFileSync(join(root, file), "utf8"));
  const imports = [...code.matchAll(IMPORT_RE)].map((m) => ({
    spec: m[1] ?? m[2],
    line: lineOf(code, m.index! + m[0].search(/\S/)),
  }));
  return { imports, code };
}

const files = sources();
const modules = new Map(files.map((f) => [f, parse(f)]));

/** Local edges: file → the repository files it imports. */
function localImports(file: string): string[] {
  return modules.get(file)!.imports
    .filter(({ spec }) => spec.startsWith("."))
    .map(({ spec }) => posix.normalize(posix.join(posix.dirname(file), spec)));
}

/** Every elementary cycle's smallest rotation, found by depth-first search. */
function findCycles(): string[][] {
  const cycles = new Map<string, string[]>();
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const next of localImports(file)) {
      if (!modules.has(next)) continue; // a missing file fails `deno check`, not this test
      if (state.get(next) === "open") {
        const cycle = stack.slice(stack.indexOf(next));
        const start = cycle.indexOf([...cycle].sort()[0]);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.set(rotated.join(" → "), rotated);
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return [...cycles.values()];
}

test("structure: the sources import every file they name", () => {
  const missing: string[] = [];
  for (const file of files) {
    for (const spec of modules.get(file)!.imports) {
      if (!spec.spec.startsWith(".")) continue;
      const target = posix.normalize(posix.join(posix.dirname(file), spec.spec));
      if (!existsSync(join(root, target))) missing.push(`${file}:${spec.line} ${spec.spec}`);
    }
  }
  assert.deepEqual(missing, []);
});

test("structure: no import cycle in mod.ts, src/ and stores/", () => {
  assert.ok(files.length > 10, `only ${files.length} source files found`);
  const cycles = findCycles().map((c) => [...c, c[0]].join(" → "));
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.join("\n")}`);
});

/** Where a module may use a runtime's own API. */
const mayUseRuntime = (file: string) =>
  file.startsWith("src/serve/adapter/") || file.startsWith("stores/") ||
  file.startsWith("src/testing");

const RUNTIME_API = /(?<![\w$])(Deno|Bun|process)\s*\??\.\s*[\w$]/g;

test("structure: only adapters, stores and the test kit touch runtime APIs", () => {
  const found: string[] = [];
  for (const file of files) {
    if (mayUseRuntime(file)) continue;
    const { imports, code } = modules.get(file)!;
    for (const { spec, line } of imports) {
      if (spec.startsWith("node:") || /^(bun|deno)(:|$)/.test(spec)) {
        found.push(`${file}:${line} imports ${spec}`);
      }
    }
    const bare = stripStrings(code);
    for (const m of bare.matchAll(RUNTIME_API)) {
      found.push(`${file}:${lineOf(bare, m.index!)} uses ${m[1]}.`);
    }
  }
  assert.deepEqual(found, []);
});

/**
 * The layers, lowest first, and what each may import besides itself. The
 * contracts (errors, the store contract, a listener set) are shared by all;
 * the wire format knows only the error codes; one connection (peer) knows the
 * wire format; the server and the client sit on a connection and never on each
 * other; the UI bindings sit on the client, serving sits on the server; the
 * stores implement the store contract and know nothing else; exporters
 * (prometheus) read the metrics the peer layer keeps. An entry in `may`
 * with a `/` is a path prefix rather than a layer.
 */
const LAYERS: { name: string; holds: (file: string) => boolean; may: string[] }[] = [
  { name: "errors", holds: (f) => f === "src/errors.ts", may: [] },
  { name: "store", holds: (f) => f === "src/store.ts", may: ["errors"] },
  { name: "listeners", holds: (f) => f === "src/listeners.ts", may: ["errors"] },
  { name: "protocol", holds: (f) => f.startsWith("src/protocol/"), may: ["errors"] },
  {
    name: "peer",
    holds: (f) => f.startsWith("src/peer/"),
    may: ["protocol", "errors", "store", "listeners"],
  },
  {
    name: "server",
    holds: (f) => f.startsWith("src/server/"),
    may: ["peer", "protocol", "errors", "store", "listeners"],
  },
  {
    name: "client",
    holds: (f) => f.startsWith("src/client/"),
    may: ["peer", "protocol", "errors", "store", "listeners"],
  },
  {
    name: "ui",
    holds: (f) => f.startsWith("src/ui/"),
    may: ["client", "protocol", "errors", "store", "listeners"],
  },
  {
    name: "serve",
    holds: (f) => f.startsWith("src/serve/"),
    may: ["server", "peer", "protocol", "errors", "store", "listeners"],
  },
  // Exporters sit at the edge: they read what the peer layer's metrics counted.
  { name: "prometheus", holds: (f) => f.startsWith("src/prometheus/"), may: ["peer", "errors"] },
  {
    name: "testing",
    holds: (f) => f.startsWith("src/testing/"),
    may: ["errors", "store", "listeners", "stores/memory/"],
  },
  { name: "stores", holds: (f) => f.startsWith("stores/"), may: ["errors", "store", "listeners"] },
  { name: "mod.ts", holds: (f) => f === "mod.ts", may: ["*"] },
];

const layerOf = (file: string) => LAYERS.find((l) => l.holds(file));

/** Each import that crosses the layer rules, as `file:line imports X (…)`. */
function layerViolations(): string[] {
  const found: string[] = [];
  for (const file of files) {
    const from = layerOf(file)!;
    for (const { spec, line } of modules.get(file)!.imports) {
      if (!spec.startsWith(".")) continue;
      const target = posix.normalize(posix.join(posix.dirname(file), spec));
      const to = layerOf(target);
      if (!to || to === from || from.may.includes("*")) continue;
      if (from.may.includes(to.name)) continue;
      if (from.may.some((p) => p.includes("/") && target.startsWith(p))) continue;
      found.push(
        `${file}:${line} imports ${target} (layer ${from.name} may not import layer ${to.name})`,
      );
    }
  }
  return found;
}

test("structure: every source module belongs to a layer", () => {
  assert.deepEqual(files.filter((f) => !layerOf(f)), []);
});

test("structure: each layer imports only the layers it may", () => {
  const found = layerViolations();
  assert.deepEqual(found, [], `layer violations:\n${found.join("\n")}`);
});

test("structure: the checks see through comments", () => {
  // A JSDoc example's import is not an edge; a real one is.
  const code = stripComments('/** import { a } from "./a.ts"; Deno.exit() */\nimport "./b.ts";\n');
  const specs = [...code.matchAll(IMPORT_RE)].map((m) => m[1] ?? m[2]);
  assert.deepEqual(specs, ["./b.ts"]);
  assert.equal(code.split("\n").length, 3);
  assert.deepEqual(
    [...stripStrings('x("Deno.exit"); Bun.serve()').matchAll(RUNTIME_API)].length,
    1,
  );
});

test("structure: every @example is a ts code block, so `deno check --doc` checks it", () => {
  const unchecked: string[] = [];
  for (const file of files) {
    const lines = readFileSync(join(root, file), "utf8").split("\n");
    lines.forEach((line, i) => {
      if (!/^\s*\*\s*@example\b/.test(line)) return;
      const next = lines.slice(i + 1, i + 4).find((l) => !/^\s*\*?\s*$/.test(l)) ?? "";
      if (!/^\s*\*\s*```(ts|typescript)\b/.test(next)) unchecked.push(`${file}:${i + 1}`);
    });
  }
  assert.deepEqual(unchecked, []);
});
