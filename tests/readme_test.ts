/**
 * The examples of the README and of docs/*.md, as a user copies them. Each
 * TypeScript block of those pages is part of a file in examples/ (which
 * `deno check`, in the check step, type-checks); each example imports only
 * packages the README's Install section tells people to install (and the
 * table quickstart's only those its own Install installs); and the examples
 * run on the runtimes they name: the server and both typed clients against it
 * on Node (tsx), Deno and Bun, the Deno mount on Deno, the stores, the
 * authentication, origins and table examples on all three, the custom store
 * under the three test runners with the commands docs/stores.md gives.
 *
 * Running them takes a while (a few processes per runtime), so that part runs
 * once, under Node; Deno and Bun run the checks on the text only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import postgres from "postgres";
import { freePort } from "./helpers/free_port.ts";
import { POSTGRES_URL } from "./helpers/postgres.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const README = readFileSync(join(root, "README.md"), "utf8");
/** The README and the guides of docs/, by path. */
const PAGES: [string, string][] = [
  ["README.md", README],
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f): [string, string] => [`docs/${f}`, readFileSync(join(root, "docs", f), "utf8")]),
];
const page = (path: string) => PAGES.find(([p]) => p === path)![1];
const EXAMPLES = join(root, "examples");
const exampleFiles = readdirSync(EXAMPLES).filter((f) => f.endsWith(".ts")).sort();
const read = (file: string) => readFileSync(join(EXAMPLES, file), "utf8");

interface Block {
  line: number;
  lang: string;
  code: string;
}

/** The fenced code blocks of a Markdown text, with the line each starts on. */
function blocks(markdown: string): Block[] {
  const found: Block[] = [];
  const re = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (const m of markdown.matchAll(re)) {
    found.push({
      line: markdown.slice(0, m.index).split("\n").length,
      lang: m[1],
      code: m[2],
    });
  }
  return found;
}

/** A section of a page, from its `## title` (or `### title`) to the next heading as high. */
function section(markdown: string, title: string, level = "##"): string {
  const start = markdown.indexOf(`\n${level} ${title}\n`);
  assert.ok(start >= 0, `no "${level} ${title}" section`);
  const ends = ["\n# ", "\n## ", ...(level === "###" ? ["\n### "] : [])]
    .map((h) => markdown.indexOf(h, start + 1))
    .filter((i) => i >= 0);
  return markdown.slice(start, ends.length ? Math.min(...ends) : undefined);
}

const g = globalThis as { Deno?: unknown; Bun?: unknown };
const runtime = g.Deno ? "Deno" : g.Bun ? "Bun" : "Node";

/** Every TypeScript block of the README and of docs/*.md, with where it is. */
const tsBlocks = PAGES.flatMap(([path, text]) =>
  blocks(text).filter((b) => b.lang === "ts").map((b) => ({ ...b, path }))
);

test("readme: every TypeScript block of the README and docs/ is part of a file in examples/", () => {
  assert.ok(
    blocks(README).filter((b) => b.lang === "ts").length >= 4,
    "the README shows too few examples",
  );
  assert.ok(tsBlocks.length >= 10, `only ${tsBlocks.length} TypeScript blocks in the docs`);
  const orphans = tsBlocks
    .filter((b) => !exampleFiles.some((f) => read(f).includes(b.code)))
    .map((b) => `${b.path}:${b.line} (${b.code.split("\n")[0]})`);
  assert.deepEqual(
    orphans,
    [],
    "copy each block, as it is in the page, into a file of examples/ that runs it",
  );
});

/**
 * Bare packages an example imports (`socksync/hono` → `socksync`); relative
 * imports (`./server.ts`) are the examples' own.
 */
function packagesOf(code: string): string[] {
  const specs = [...code.matchAll(/^\s*import\s[^;"']*?["']([^"'.][^"']*)["']/gm)].map((m) => m[1]);
  return specs.map((s) => s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]);
}

/**
 * The packages the `npm install` and `bun add` lines of a text install (the
 * tarball, by its path or its variable, as `socksync`; versions dropped).
 */
function installedBy(text: string): Set<string> {
  return new Set(
    blocks(text)
      .filter((b) => b.lang === "sh")
      .flatMap((b) => b.code.split("\n"))
      .flatMap((l) => l.replace(/#.*/, "").split("&&"))
      .map((l) => l.trim())
      .filter((l) => /^(npm install|bun add)\s/.test(l))
      .flatMap((l) => l.split(/\s+/).slice(2))
      .filter((w) => !w.startsWith("-"))
      .map((w) => /SOCKSYNC_TGZ|dist\/socksync-/.test(w) ? "socksync" : w.replace(/(.)@.*$/, "$1")),
  );
}

/** The examples' imports that `installed` does not cover. */
function notInstalled(files: string[], installed: Set<string>): string[] {
  const missing: string[] = [];
  for (const file of files) {
    for (const name of packagesOf(read(file))) {
      if (name === "node" || name.startsWith("node:")) continue;
      if (!installed.has(name)) missing.push(`examples/${file} imports ${name}`);
    }
  }
  return missing;
}

test("readme: the examples import only what the Install section installs", () => {
  const install = section(README, "Install");
  const installed = installedBy(install);
  assert.ok(installed.has("socksync"), "the Install section does not install the tarball");
  assert.deepEqual(
    notInstalled(exampleFiles, installed),
    [],
    `installed: ${[...installed].join(", ")}`,
  );
  // Node 20 type-checks the client only with ws's types; the check needs TypeScript.
  for (const name of ["@types/ws", "typescript"]) {
    assert.ok(installed.has(name), `the Install section does not install ${name}`);
  }
  // It builds the tarball it installs, from the copy at hand: no clone of a URL.
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  assert.ok(install.includes(`dist/socksync-${pkg.version}.tgz`), "the tarball's name");
  assert.ok(install.includes("npm run build:npm"), "the Install section does not build it");
  assert.doesNotMatch(install, /git clone/);
  // A browser-only app installs the package and its framework, nothing server-side.
  const browser = install.slice(install.indexOf("**A browser-only app**"));
  const browserOnly = installedBy(browser.slice(0, browser.indexOf("**A custom store**")));
  for (const name of ["valibot", "hono", "ws", "tsx"]) {
    assert.ok(!browserOnly.has(name), `a browser-only app does not need ${name}`);
  }
  assert.ok(browserOnly.has("socksync") && browserOnly.has("vue") && browserOnly.has("react"));
});

test("readme: the table quickstart installs what its examples and drivers need", () => {
  const install = section(page("docs/tables.md"), "Install", "###");
  const installed = installedBy(install);
  assert.deepEqual(
    notInstalled(["own_tables.ts", "own_tables_postgres.ts"], installed),
    [],
    `installed: ${[...installed].join(", ")}`,
  );
  // The drivers the bindings load, and the type check the quickstart explains.
  for (const name of ["postgres", "better-sqlite3", "typescript", "@types/ws", "tsx"]) {
    assert.ok(installed.has(name), `docs/tables.md does not install ${name}`);
  }
  const setup = section(page("docs/tables.md"), "TypeScript set-up", "###");
  assert.match(setup, /tsc --noEmit/);
  assert.match(setup, /"strict": true/);
});

test("readme: the import map and package.json name the same entry points as deno.json", () => {
  const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const specifier = (key: string) => key === "." ? "socksync" : `socksync/${key.slice(2)}`;
  const expected = Object.fromEntries(
    Object.entries(deno.exports as Record<string, string>).map(([k, f]) => [specifier(k), f]),
  );
  assert.deepEqual(deno.imports, expected, "deno.json imports");
  assert.equal(pkg.name, "socksync");
  assert.deepEqual(pkg.exports, deno.exports, "package.json exports");
  for (const name of Object.keys(expected)) {
    assert.ok(README.includes(`\`${name}\``), `the README does not name ${name}`);
  }
});

test("readme: the custom store section gives test commands that load TypeScript", () => {
  const text = section(page("docs/stores.md"), "Writing your own store");
  for (const cmd of ["node --import tsx --test", "deno test", "bun test"]) {
    assert.ok(text.includes(cmd), `no "${cmd}" in docs/stores.md's custom store section`);
  }
  assert.doesNotMatch(text, /`node --test/, "node --test cannot load .ts on Node 20");
});

// --- running them ------------------------------------------------------------

const skip = runtime === "Node"
  ? false
  : `runs once, under Node only (npm run test:node), not under ${runtime}`;

const bin = (name: string) => {
  const local = join(root, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
};
const RUNTIMES: Record<string, (file: string) => string[]> = {
  Node: (file) => [process.execPath, "--import", "tsx", file],
  Deno: (file) => [bin("deno"), "run", "-A", file],
  Bun: (file) => [bin("bun"), file],
};

interface Proc {
  code: number | null;
  out: string;
  exited: Promise<void>;
  kill(): void;
}

/** The environment of a command, as a user's shell has it (not inside a test run). */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", FORCE_COLOR: "0" };
  for (const [k, v] of Object.entries(process.env)) {
    // Node's runner marks its children; a marked `node --test` runs nothing.
    if (v !== undefined && k !== "NODE_TEST_CONTEXT" && !(k in env)) env[k] = v;
  }
  return env;
}

/** Starts a command in `cwd`; its output collects in `out` (stdout and stderr). */
function start(cmd: string[], cwd: string): Proc {
  const child = spawn(cmd[0], cmd.slice(1), {
    cwd,
    env: childEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc: Proc = {
    code: null,
    out: "",
    exited: new Promise((done) => {
      child.on("close", (code, signal) => {
        proc.code = code ?? (signal ? 128 : 1);
        done();
      });
      child.on("error", (e) => {
        proc.out += String(e);
        proc.code = 127;
        done();
      });
    }),
    kill: () => void child.kill("SIGKILL"),
  };
  // Deno colours console.log even without a terminal.
  // deno-lint-ignore no-control-regex
  const plain = (d: unknown) => String(d).replace(/\x1b\[[0-9;]*m/g, "");
  child.stdout.on("data", (d) => proc.out += plain(d));
  child.stderr.on("data", (d) => proc.out += plain(d));
  return proc;
}

/** Runs a command to its end, killed after `ms`. */
async function runToEnd(cmd: string[], cwd: string, ms = 60_000): Promise<Proc> {
  const proc = start(cmd, cwd);
  const timer = setTimeout(() => {
    proc.out += `\n(killed after ${ms} ms)`;
    proc.kill();
  }, ms);
  await proc.exited;
  clearTimeout(timer);
  return proc;
}

/** Waits until the process printed something matching `re` (or ended, or `ms` passed). */
async function waitFor(proc: Proc, re: RegExp, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  let ended = false;
  proc.exited.then(() => ended = true);
  while (!re.test(proc.out) && !ended && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(proc.out, re, `no ${re} in the output:\n${proc.out}`);
}

test(
  "readme: the examples run on the runtimes they name",
  { skip, timeout: 10 * 60_000 },
  async (t) => {
    // Copies next to the originals (so that `socksync` resolves as in the
    // repository), on a free port instead of 8080.
    const dir = mkdtempSync(join(EXAMPLES, ".run-"));
    const copy = (file: string, port: number) => {
      let code = read(file);
      code = code.includes("8080")
        ? code.replaceAll("8080", String(port))
        : code.replace("serve({", `serve({ port: ${port},`);
      writeFileSync(join(dir, file), code);
      return join(dir, file);
    };
    try {
      for (const name of ["Node", "Deno", "Bun"]) {
        await t.test(`server and client, on ${name}`, async () => {
          const port = await freePort();
          const server = start(RUNTIMES[name](copy("server.ts", port)), dir);
          try {
            await waitFor(server, /listening on http:\/\/127\.0\.0\.1:\d+/);
            const client = await runToEnd(RUNTIMES[name](copy("client.ts", port)), dir);
            assert.equal(client.code, 0, `the client failed:\n${client.out}`);
            assert.match(client.out, /^connected$/m);
            assert.match(client.out, /^counter = \d+$/m);
            assert.match(client.out, /try SockSync/);
            // `increment` by 2 returns the new value
            assert.match(client.out, /^2$/m);
            // The client typed by hand (ApiShape) talks to the same server.
            const declared = await runToEnd(
              RUNTIMES[name](copy("client_declared.ts", port)),
              dir,
            );
            assert.equal(declared.code, 0, `client_declared.ts failed:\n${declared.out}`);
            assert.match(declared.out, /^added \S+ counter at 2$/m);
          } finally {
            server.kill();
            await server.exited;
          }
        });
      }

      await t.test("mount on your own Hono app, on Deno", async () => {
        const r = await runToEnd(RUNTIMES.Deno(join(EXAMPLES, "mount_deno.ts")), dir);
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /mounted on http:\/\/127\.0\.0\.1:\d+\/ws\/socksync/);
      });

      for (const name of ["Node", "Deno", "Bun"]) {
        await t.test(`stores and authentication, on ${name}`, async () => {
          const stores = await runToEnd(RUNTIMES[name](copy("stores.ts", 0)), dir);
          assert.equal(stores.code, 0, `examples/stores.ts:\n${stores.out}`);
          assert.match(stores.out, /opened memory, sqlite and redis stores/);
          const auth = await runToEnd(RUNTIMES[name](copy("auth.ts", await freePort())), dir);
          assert.equal(auth.code, 0, `examples/auth.ts:\n${auth.out}`);
          assert.match(auth.out, /listening on http:\/\/127\.0\.0\.1:\d+/);
          const origins = await runToEnd(RUNTIMES[name](copy("origins.ts", await freePort())), dir);
          assert.equal(origins.code, 0, `examples/origins.ts:\n${origins.out}`);
          assert.match(origins.out, /listening on http:\/\/127\.0\.0\.1:\d+/);
          const tables = await runToEnd(
            RUNTIMES[name](copy("own_tables.ts", await freePort())),
            dir,
          );
          assert.equal(tables.code, 0, `examples/own_tables.ts:\n${tables.out}`);
          assert.match(tables.out, /^ada sees: ship it/m);
          assert.doesNotMatch(tables.out, /bob's note/);
          // The example creates its table in the database it names: give it a fresh one.
          const database = `socksync_readme_${Math.random().toString(36).slice(2, 10)}`;
          const admin = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
          await admin.unsafe(`CREATE DATABASE ${database}`);
          try {
            const file = copy("own_tables_postgres.ts", await freePort());
            const code = readFileSync(file, "utf8");
            assert.ok(code.includes("@127.0.0.1:5432/postgres"), "the example's database URL");
            writeFileSync(
              file,
              code.replace("@127.0.0.1:5432/postgres", `@127.0.0.1:5432/${database}`),
            );
            const pgTables = await runToEnd(RUNTIMES[name](file), dir);
            assert.equal(pgTables.code, 0, `examples/own_tables_postgres.ts:\n${pgTables.out}`);
            assert.match(pgTables.out, /^ada sees: ship it/m);
            assert.doesNotMatch(pgTables.out, /bob's note/);
          } finally {
            await admin.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
            await admin.end();
          }
        });
      }

      // The commands the Stores section gives, over the example file itself.
      const kit = "examples/array_list_source_test.ts";
      const runners: [string, string[], RegExp][] = [
        [
          "node --import tsx --test",
          [process.execPath, "--import", "tsx", "--test", kit],
          /^[#ℹ] pass [1-9]/m,
        ],
        ["deno test", [bin("deno"), "test", kit], /^ok \| [1-9]\d* passed/m],
        ["bun test", [bin("bun"), "test", `./${kit}`], /^\s*[1-9]\d* pass$/m],
      ];
      for (const [label, cmd, passed] of runners) {
        await t.test(`the custom store passes the kit under ${label}`, async () => {
          const r = await runToEnd(cmd, root, 3 * 60_000);
          assert.equal(r.code, 0, r.out);
          assert.match(r.out, passed, `no test passed:\n${r.out}`);
          assert.doesNotMatch(r.out, /\b[1-9]\d* fail(ed)?\b/);
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test("readme: the examples directory holds only files the docs use or name", () => {
  // A stale example would be type-checked and run without being documented.
  const unused = exampleFiles.filter((f) => {
    const code = read(f);
    return !tsBlocks.some((b) => code.includes(b.code)) &&
      !PAGES.some(([, text]) => text.includes(`examples/${f}`));
  });
  assert.deepEqual(unused, []);
});
