/**
 * The npm package, as a user gets it: builds dist/socksync-<version>.tgz
 * (scripts/build_npm.mjs), installs it alone into a fresh temp project with
 * npm, and there:
 * - imports `socksync`, `socksync/hono` and `socksync/stores/memory` (each in
 *   its own process) and starts a server through `socksync/hono`, under Node,
 *   Deno and Bun, with nothing else installed;
 * - opens each store whose driver is missing and expects an error that names
 *   the driver and the command that installs it;
 * - imports `socksync/vue`, `socksync/react` and `socksync/svelte` without
 *   their framework and expects an error naming the missing package;
 * then installs the drivers, the frameworks and the tools a user adds (ws,
 * valibot, vue, react, svelte, types), imports every entry point under Node, Deno and
 * Bun (the bindings included), serves a hub on Node and talks to it with the
 * client from `socksync`, and type-checks a TypeScript consumer, and the
 * README's Vue and React examples, with tsc.
 *
 * Slow (about a minute), so it runs once, under Node; Deno and Bun skip it.
 * SOCKSYNC_PACKAGE_TGZ=<path> reuses a tarball instead of building one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { freePort } from "./helpers/free_port.ts";

const g = globalThis as { Deno?: unknown; Bun?: unknown };
const runtime = g.Deno ? "Deno" : g.Bun ? "Bun" : "Node";
const skip = runtime === "Node"
  ? false
  : `runs once, under Node only (npm run test:node), not under ${runtime}`;
if (skip) console.log(`package_test: skipped: ${skip}`);

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MINUTE = 60_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a user's shell: colourless, not inside a test run. */
function userEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", FORCE_COLOR: "0" };
  for (const [k, v] of Object.entries(process.env)) {
    // Node's runner marks its children; a marked `node --test` runs nothing.
    if (v !== undefined && k !== "NODE_TEST_CONTEXT" && !(k in env)) env[k] = v;
  }
  return env;
}

/** Starts a server in its own process group; `stop` kills the whole group. */
function startServer(cmd: string, args: string[], cwd: string) {
  const child = spawn(cmd, args, {
    cwd,
    env: userEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const server = {
    out: "",
    exited: new Promise<void>((done) => child.on("close", () => done())),
    async stop() {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch { /* already gone */ }
      await server.exited;
    },
  };
  child.stdout.on("data", (d) => server.out += d);
  child.stderr.on("data", (d) => server.out += d);
  return server;
}

/** Runs a command, bounded in time; never throws (see `ok`). */
function run(
  cmd: string,
  args: string[],
  cwd: string,
  timeout = 3 * MINUTE,
): Promise<Run> {
  return new Promise((done) => {
    execFile(
      cmd,
      args,
      {
        cwd,
        timeout,
        killSignal: "SIGKILL",
        maxBuffer: 64 * 1024 * 1024,
        env: userEnv(),
      },
      (error, stdout, stderr) => {
        const code = error ? typeof error.code === "number" ? error.code : 1 : 0;
        done({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

function ok(r: Run, what: string): Run {
  assert.equal(
    r.code,
    0,
    `${what} failed (exit ${r.code})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
  );
  return r;
}

/** The error line of a failed run, not its whole stack. */
function brief(r: Run): string {
  const lines = (r.stderr || r.stdout).split("\n").map((l) => l.trim());
  return lines.find((l) => /^(\w*Error|error)\b|Error:/.test(l)) ??
    lines.filter(Boolean).slice(-3).join(" | ");
}

const localBin = (name: string) => {
  const p = join(root, "node_modules", ".bin", name);
  return existsSync(p) ? p : name;
};

interface BuildResult {
  tarball: string;
  version: string;
  missing: string[];
  entries: Record<string, string[]>;
}

const denoJson = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
const repoPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const allDeps: Record<string, string> = {
  ...repoPkg.devDependencies,
  ...repoPkg.optionalDependencies,
  ...repoPkg.peerDependencies,
  ...repoPkg.dependencies,
};
/** `name@range` as the repo pins it, so npm finds it in its cache. */
const pinned = (name: string, fallback = "latest") => `${name}@${allDeps[name] ?? fallback}`;

const entryKeys: string[] = Object.keys(
  typeof denoJson.exports === "string" ? { ".": 1 } : denoJson.exports,
);
const specifier = (key: string) => key === "." ? "socksync" : `socksync/${key.slice(2)}`;

/** Packages only some entry points may load, never the main one. */
const OPTIONAL = [
  "hono",
  "@hono/node-server",
  "@hono/node-ws",
  "ioredis",
  "better-sqlite3",
  "vue",
  "react",
  "svelte",
  "prom-client",
];
/** What serving needs: real dependencies, installed with the package. */
const SERVING = ["hono", "@hono/node-server", "ws"];
/** Database drivers: optional peers, the user installs the one they use. */
const DRIVERS = ["ioredis", "better-sqlite3"];
/** Exporters' libraries: optional peers too (`socksync/prometheus` needs prom-client). */
const EXPORTERS = ["prom-client"];
/** The UI bindings and the framework each needs (an optional peer). */
const BINDINGS: [string, string][] = [
  ["socksync/vue", "vue"],
  ["socksync/react", "react"],
  ["socksync/svelte", "svelte"],
];
/** The entry points `npm install socksync` alone must make usable. */
const CORE_ENTRIES = ["socksync", "socksync/hono", "socksync/stores/memory"];

// One process: imports the entry point named in argv, prints its exports.
const IMPORT_ONE = `
const spec = process.argv[process.argv.length - 1];
const mod = await import(spec);
const names = Object.keys(mod).sort();
if (names.length === 0) throw new Error(spec + " exports nothing");
console.log(spec + ": " + names.join(", "));
`;

// Starts a server through socksync/hono with only socksync installed (no
// schema: valibot is the user's to install), on whichever runtime runs it.
const SERVE_ALONE = `
import { Hub } from "socksync";
import { serve } from "socksync/hono";
import { memoryStore } from "socksync/stores/memory";

const store = memoryStore();
const hub = new Hub({ vars: store.vars });
const server = await serve({ hub, port: 0, hostname: "127.0.0.1" });
const health = await fetch(server.url + "/ws/socksync");
await health.body?.cancel();
await server.close();
await hub.close();
await store.close?.();
console.log("served on " + server.runtime + ", " + server.url);
`;

// Opens the store named in argv without its driver installed; prints the
// error's message and exits 3 (or exits 0 if the store opened).
const OPEN_WITHOUT_DRIVER = `
const which = process.argv[process.argv.length - 1];
try {
  if (which === "redis") {
    const { openRedisStore } = await import("socksync/stores/redis");
    const store = await openRedisStore({ url: "redis://127.0.0.1:1", prefix: "pkg-test:" });
    await store.close();
  } else {
    const { openSqliteStore } = await import("socksync/stores/sqlite");
    const store = await openSqliteStore({ path: ":memory:" });
    await store.close();
  }
  console.log("opened");
  process.exit(0);
} catch (error) {
  console.log("MESSAGE " + JSON.stringify(String(error?.message ?? error)));
  process.exit(3);
}
`;

// A server that imports only from socksync and socksync/hono (plus Hono's
// own Node adapter), and the client from socksync.
const E2E = `
import { Hub, connect } from "socksync";
import { socksync } from "socksync/hono";
import { Hono } from "hono";
import { serve } from "@hono/node-server";
import { createNodeWebSocket } from "@hono/node-ws";
import WebSocket from "ws";
import * as v from "valibot";

const fail = setTimeout(() => {
  console.error("e2e: timed out");
  process.exit(2);
}, 30_000);

const hub = new Hub();
const counter = hub.var("counter", { schema: v.number(), initial: 0 });
hub.function("increment", {
  args: v.object({ by: v.optional(v.number()) }),
  handler: async ({ by = 1 }) => await counter.update((n) => n + by),
});

const app = new Hono();
const { upgradeWebSocket, injectWebSocket } = createNodeWebSocket({ app });
app.get(
  "/ws/socksync",
  socksync(hub, { upgradeWebSocket, onConnect: (peer) => peer.acceptCalls() }),
);
const server = await new Promise((ok) => {
  const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => ok(s));
  injectWebSocket(s);
});
const url = "ws://127.0.0.1:" + server.address().port + "/ws/socksync";

// Client, from socksync too (Node 20 has no global WebSocket: pass ws's).
const client = connect(url, { WebSocket });
const remote = client.var("counter", v.number());
const seen = [];
remote.onChange(() => seen.push(remote.value));
await client.ready();
const result = await client.call("increment", { by: 2 });
const until = Date.now() + 10_000;
while (remote.value !== 2 && Date.now() < until) {
  await new Promise((r) => setTimeout(r, 20));
}
console.log("e2e: call returned " + JSON.stringify(result) + ", var saw " + JSON.stringify(seen));
if (result !== 2) throw new Error("increment returned " + JSON.stringify(result));
if (remote.value !== 2) throw new Error("the var never showed 2");

client.close();
await new Promise((r) => server.close(r));
await hub.close();
clearTimeout(fail);
console.log("e2e: ok");
process.exit(0);
`;

const CONSUMER_TS = `
import { connect, Hub, type LocalVar, type VarMirror } from "socksync";
import { socksync } from "socksync/hono";
import { Hono } from "hono";
import { createNodeWebSocket } from "@hono/node-ws";
import WebSocket from "ws";
import * as v from "valibot";

const hub = new Hub();
const counter: LocalVar<number> = hub.var("counter", { schema: v.number(), initial: 0 });
hub.function("increment", {
  args: v.object({ by: v.optional(v.number()) }),
  handler: async ({ by = 1 }) => await counter.update((n) => n + by),
});
const app = new Hono();
const { upgradeWebSocket } = createNodeWebSocket({ app });
app.get("/ws/socksync", socksync(hub, { upgradeWebSocket }));

const client = connect("ws://127.0.0.1:8080/ws/socksync", { WebSocket });
const remote: VarMirror<number> = client.var("counter", v.number());
const n: number | undefined = remote.value;
const result: number = await client.call<number>("increment", { by: 2 });
// @ts-expect-error: the value is a number
const wrong: string | undefined = remote.value;
export { n, result, wrong };
`;

// Renders a component with socksync/react's typed hooks against a live
// server, in a DOM-less node tree (tiny_dom.ts, copied next to it), and
// waits for the value it shows to follow a call: under whichever React the
// project holds.
const REACT_RENDER = `
import { createElement as h, version } from "react";
import { createRoot } from "react-dom/client";
import WebSocket from "ws";
import * as v from "valibot";
import { type ApiOf, connect, Hub } from "socksync";
import { serve } from "socksync/hono";
import { createHooks } from "socksync/react";
import { createDocument } from "./tiny_dom.ts";

const fail = setTimeout(() => {
  console.error("react_render: timed out");
  process.exit(2);
}, 30_000);
// React DOM reads window.event (and React 18 window.HTMLIFrameElement on commit).
(globalThis as { window?: unknown }).window ??= { event: undefined, HTMLIFrameElement: class {} };

const hub = new Hub();
const counter = hub.var("counter", { schema: v.number(), initial: 0 });
const increment = hub.function("increment", {
  args: v.object({ by: v.number() }),
  handler: ({ by }) => counter.update((n) => n + by),
});
type Api = ApiOf<{ counter: typeof counter; increment: typeof increment }>;
const server = await serve({ hub, port: 0, hostname: "127.0.0.1" });
const client = connect<Api>(server.url.replace(/^http/, "ws") + "/ws/socksync", { WebSocket });
const { useCall, useVar } = createHooks(client);

let bump: ((args: { by: number }) => Promise<number>) | undefined;
const shown: string[] = [];
function Counter() {
  const value = useVar("counter").value;
  bump = useCall("increment");
  shown.push(String(value ?? "-"));
  return h("output", null, String(value ?? "-"));
}
const container = createDocument().createElement("div");
// deno-lint-ignore no-explicit-any
const root = createRoot(container as any);
root.render(h(Counter));
const until = async (text: string) => {
  while (container.textContent !== text) await new Promise((r) => setTimeout(r, 10));
};
await until("0");
const result = await bump!({ by: 2 });
await until("2");
console.log("react " + version + ": showed " + shown.join(" ") + ", the call returned " + result);
root.unmount();
client.close();
await server.close();
await hub.close();
clearTimeout(fail);
process.exit(0);
`;

test("npm package", { skip, timeout: 15 * MINUTE }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), "socksync-pkg-"));
  let build: BuildResult | undefined;
  try {
    await t.test("builds dist/socksync-<version>.tgz", async () => {
      const reuse = process.env.SOCKSYNC_PACKAGE_TGZ;
      if (reuse) {
        build = {
          tarball: resolve(reuse),
          version: denoJson.version,
          missing: entryKeys
            .filter((k) => !existsSync(join(root, denoJson.exports[k])))
            .map((k) => `${k} -> ${denoJson.exports[k]}`),
          entries: {},
        };
        return;
      }
      const r = ok(
        await run(
          process.execPath,
          [join(root, "scripts/build_npm.mjs")],
          root,
        ),
        "npm run build:npm",
      );
      const line = r.stdout.split("\n").find((l) => l.startsWith("BUILD_RESULT "));
      assert.ok(line, `no BUILD_RESULT line in:\n${r.stdout}`);
      build = JSON.parse(line.slice("BUILD_RESULT ".length));
      assert.ok(existsSync(build!.tarball));
      assert.match(build!.tarball, /socksync-\d+\.\d+\.\d+.*\.tgz$/);
    });
    assert.ok(build, "no tarball, nothing more to test");

    await t.test("has every deno.json export as an entry point", () => {
      assert.deepEqual(build!.missing, [], "deno.json exports without a file");
    });

    await t.test("the main entry point loads no framework or driver", () => {
      for (const name of build!.entries["."] ?? []) {
        assert.ok(!OPTIONAL.includes(name), `"socksync" imports ${name}`);
      }
    });

    const project = join(work, "consumer");
    const runtimes: [string, string, string[]][] = [
      ["Node", process.execPath, []],
      ["Deno", localBin("deno"), ["run", "-A"]],
      ["Bun", localBin("bun"), []],
    ];
    /** Runs `file args` in the project under one runtime. */
    const runIn = (rt: [string, string, string[]], file: string, args: string[] = []) =>
      run(rt[1], [...rt[2], file, ...args], project, MINUTE);
    /** A new npm project in `dir` with the packed tarball and `packages` installed. */
    const freshProject = (dir: string, name: string, packages: string[]) => {
      mkdirSync(dir);
      writeFileSync(
        join(dir, "package.json"),
        JSON.stringify({ name, private: true, type: "module" }),
      );
      return run(
        "npm",
        [
          "install",
          "--no-audit",
          "--no-fund",
          "--prefer-offline",
          "--loglevel=error",
          build!.tarball,
          ...packages,
        ],
        dir,
        5 * MINUTE,
      );
    };

    await t.test("installs alone with npm into a fresh project", async () => {
      ok(await freshProject(project, "consumer", []), "npm install <tarball>");
      const pkg = JSON.parse(
        readFileSync(
          join(project, "node_modules", "socksync", "package.json"),
          "utf8",
        ),
      );
      assert.equal(pkg.name, "socksync");
      assert.equal(pkg.sideEffects, false);
      for (const name of SERVING) {
        assert.ok(pkg.dependencies?.[name], `${name} is not a dependency`);
        assert.ok(existsSync(join(project, "node_modules", name)), `${name} was not installed`);
      }
      for (
        const name of [...DRIVERS, ...EXPORTERS, ...BINDINGS.map(([, framework]) => framework)]
      ) {
        assert.ok(pkg.peerDependencies?.[name], `${name} is not a peer dependency`);
        assert.equal(pkg.peerDependenciesMeta?.[name]?.optional, true, `${name} is not optional`);
        assert.ok(!pkg.dependencies?.[name], `${name} is a dependency`);
        assert.ok(!existsSync(join(project, "node_modules", name)), `${name} was installed`);
      }
    });

    await t.test("its manifest agrees with the root package.json", () => {
      const pkg = JSON.parse(
        readFileSync(join(project, "node_modules", "socksync", "package.json"), "utf8"),
      );
      // What the shipped modules import is what the root declares as
      // dependencies and optional peers; test and demo tools stay dev-only.
      assert.deepEqual(pkg.dependencies, repoPkg.dependencies, "dependencies");
      assert.deepEqual(pkg.peerDependencies, repoPkg.peerDependencies, "peerDependencies");
      assert.deepEqual(
        pkg.peerDependenciesMeta,
        repoPkg.peerDependenciesMeta,
        "peerDependenciesMeta",
      );
    });

    await t.test("ships a .d.ts next to every module", () => {
      const pkgRoot = join(project, "node_modules", "socksync");
      const untyped: string[] = [];
      (function walk(dir: string) {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) walk(path);
          else if (entry.name.endsWith(".js") && !existsSync(path.replace(/\.js$/, ".d.ts"))) {
            untyped.push(path.slice(pkgRoot.length + 1));
          }
        }
      })(pkgRoot);
      assert.deepEqual(untyped, []);
    });

    writeFileSync(join(project, "import_one.mjs"), IMPORT_ONE);
    writeFileSync(join(project, "serve_alone.mjs"), SERVE_ALONE);
    writeFileSync(join(project, "open_without_driver.mjs"), OPEN_WITHOUT_DRIVER);
    for (const rt of runtimes) {
      await t.test(`with nothing else installed, serves under ${rt[0]}`, async () => {
        const failures: string[] = [];
        for (const spec of CORE_ENTRIES) {
          const r = await runIn(rt, "import_one.mjs", [spec]);
          if (r.code !== 0) failures.push(`${spec}: ${brief(r)}`);
        }
        const served = await runIn(rt, "serve_alone.mjs");
        if (served.code !== 0) failures.push(`serve(): ${brief(served)}`);
        else assert.match(served.stdout, /served on \w+, http:\/\/127\.0\.0\.1:\d+/);
        assert.deepEqual(failures, []);
      });
    }

    for (const rt of runtimes) {
      await t.test(`without its framework, each binding names the package to install (${rt[0]})`, async () => {
        for (const [spec, framework] of BINDINGS) {
          assert.ok(
            !existsSync(join(project, "node_modules", framework)),
            `${framework} was installed`,
          );
          const r = await runIn(rt, "import_one.mjs", [spec]);
          assert.notEqual(r.code, 0, `${spec} loaded without ${framework}`);
          // The resolver's own error, naming the package, quoted (the module's
          // path, …/socksync/…/vue.js, does not count): what the README quotes.
          assert.match(
            r.stderr + r.stdout,
            new RegExp(
              `(Cannot|Could not) find package ["'\`](npm:)?${framework}(@[^"'\`]*)?["'\`]`,
            ),
            `the error does not name ${framework}: ${brief(r)}`,
          );
        }
      });
    }

    // Node 20 has no node:sqlite, so the SQLite store needs better-sqlite3 there.
    const [major, minor] = process.versions.node.split(".").map(Number);
    const nodeHasSqlite = major > 22 || (major === 22 && minor >= 13);
    const missing: [string, [string, string, string[]]][] = [
      ...runtimes.map((rt): [string, [string, string, string[]]] => ["redis", rt]),
      ...(nodeHasSqlite ? [] : [["sqlite", runtimes[0]] as [string, [string, string, string[]]]]),
    ];
    for (const [store, rt] of missing) {
      const driver = store === "redis" ? "ioredis" : "better-sqlite3";
      await t.test(`without ${driver}, the ${store} store says what to install (${rt[0]})`, async () => {
        const r = await runIn(rt, "open_without_driver.mjs", [store]);
        assert.notEqual(r.code, 0, `the ${store} store opened without ${driver}`);
        const line = r.stdout.split("\n").find((l) => l.startsWith("MESSAGE "));
        assert.ok(line, `no error message caught (exit ${r.code}): ${brief(r)}`);
        const message: string = JSON.parse(line.slice("MESSAGE ".length));
        const escaped = driver.replace(/[-]/g, "\\-");
        assert.match(
          message,
          new RegExp(`(npm (install|i|add)|bun add|deno add( npm:)?) ?${escaped}`),
          `the error does not give the command that installs ${driver}: ${message}`,
        );
        // The resolver's own error may follow, but not be all there is.
        assert.doesNotMatch(
          message,
          /^(Cannot|Could not) find (package|module)/,
          "a resolver error",
        );
      });
    }

    await t.test("installs the drivers and a user's tools next to it", async () => {
      ok(
        await run(
          "npm",
          [
            "install",
            "--no-audit",
            "--no-fund",
            "--prefer-offline",
            "--loglevel=error",
            pinned("ws"),
            pinned("hono"),
            pinned("@hono/node-ws"),
            pinned("tsx"),
            pinned("valibot"),
            pinned("ioredis"),
            pinned("@types/node"),
            pinned("vue"),
            pinned("react"),
            pinned("react-dom"),
            pinned("svelte"),
            pinned("@types/react"),
            pinned("@types/react-dom"),
            "@types/ws@^8",
            "typescript@^5",
          ],
          project,
          5 * MINUTE,
        ),
        "npm install",
      );
      // better-sqlite3 is native: link the repo's build instead of compiling
      // it again (its own dependencies resolve from the repo).
      const sqlite = join(root, "node_modules", "better-sqlite3");
      if (existsSync(sqlite)) {
        symlinkSync(sqlite, join(project, "node_modules", "better-sqlite3"));
      }
    });

    const present = entryKeys.filter((k) => !build!.missing.some((m) => m.startsWith(`${k} `)));
    for (const rt of runtimes) {
      await t.test(`imports each entry point alone under ${rt[0]}`, async () => {
        const failures: string[] = [];
        for (const key of present) {
          const r = await runIn(rt, "import_one.mjs", [specifier(key)]);
          if (r.code !== 0) failures.push(`${specifier(key)}: ${brief(r)}`);
        }
        assert.deepEqual(failures, []);
      });
    }

    const tsc = join(project, "node_modules/typescript/bin/tsc");
    // The README's examples, copied as a user would (on a free port, not 8080).
    const example = (file: string, port?: number) => {
      const code = readFileSync(join(root, "examples", file), "utf8");
      return port === undefined ? code : code.replaceAll("8080", String(port));
    };
    writeFileSync(join(project, "store_test.ts"), example("array_list_source_test.ts"));
    for (const rt of runtimes) {
      await t.test(`runs the README's server and client under ${rt[0]}`, async () => {
        const port = await freePort();
        writeFileSync(join(project, "server.ts"), example("server.ts", port));
        writeFileSync(join(project, "client.ts"), example("client.ts", port));
        const args = (file: string) =>
          rt[0] === "Node" ? ["--import", "tsx", file] : [...rt[2], file];
        const server = startServer(rt[1], args("server.ts"), project);
        try {
          const until = Date.now() + MINUTE;
          while (!/listening on http/.test(server.out) && Date.now() < until) {
            await new Promise((r) => setTimeout(r, 50));
          }
          assert.match(server.out, /listening on http/, `the server did not start:\n${server.out}`);
          const client = ok(await run(rt[1], args("client.ts"), project, MINUTE), "client.ts");
          assert.match(client.stdout, /^connected$/m);
          assert.match(client.stdout, /try SockSync/);
        } finally {
          await server.stop();
        }
      });
    }
    const kitRuns: [string, string, string[]][] = [
      ["node --import tsx --test", process.execPath, [
        "--import",
        "tsx",
        "--test",
        "store_test.ts",
      ]],
      ["deno test", localBin("deno"), ["test", "store_test.ts"]],
      ["bun test", localBin("bun"), ["test", "store_test.ts"]],
    ];
    for (const [label, cmd, args] of kitRuns) {
      await t.test(`the README's custom store passes the kit under ${label}`, async () => {
        const r = ok(await run(cmd, args, project, 3 * MINUTE), label);
        assert.doesNotMatch(r.stdout + r.stderr, /\b[1-9]\d* fail(ed)?\b/);
        assert.match(r.stdout + r.stderr, /\b[1-9]\d* pass(ed)?\b|^[#ℹ] pass [1-9]/m);
      });
    }

    await t.test("serves a hub on Node and talks to it", async () => {
      writeFileSync(join(project, "e2e.mjs"), E2E);
      const r = ok(
        await run(process.execPath, ["e2e.mjs"], project, MINUTE),
        "e2e.mjs",
      );
      assert.match(r.stdout, /e2e: ok/);
    });

    await t.test("type-checks a TypeScript consumer with tsc", async () => {
      writeFileSync(join(project, "consumer.ts"), CONSUMER_TS);
      writeFileSync(
        join(project, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2022",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ["node"],
            lib: ["ES2022", "DOM"],
          },
          // The README's examples too, as a Node 20 user type-checks them.
          files: ["consumer.ts", "server.ts", "client.ts", "store_test.ts"],
        }),
      );
      ok(
        await run(
          process.execPath,
          [join(project, "node_modules/typescript/bin/tsc"), "-p", "."],
          project,
          2 * MINUTE,
        ),
        "tsc --noEmit",
      );
    });

    /** Runs REACT_RENDER in `dir` under Node; expects React `major` to show the change. */
    const renderReact = async (dir: string, major: number) => {
      copyFileSync(join(root, "tests/helpers/tiny_dom.ts"), join(dir, "tiny_dom.ts"));
      writeFileSync(join(dir, "react_render.ts"), REACT_RENDER);
      const r = ok(
        await run(process.execPath, ["--import", "tsx", "react_render.ts"], dir, MINUTE),
        "react_render.ts",
      );
      assert.match(
        r.stdout,
        new RegExp(`^react ${major}\\.\\d+\\.\\d+: showed .*\\b0 .*\\b2\\b`, "m"),
      );
      assert.match(r.stdout, /the call returned 2$/m);
    };
    await t.test("React 19: the hooks render a live value and follow a call", async () => {
      await renderReact(project, 19);
    });
    await t.test("React 18: the hooks render a live value and follow a call", async () => {
      const react18 = join(work, "react18");
      ok(
        await freshProject(react18, "consumer-react18", [
          "react@18",
          "react-dom@18",
          pinned("ws"),
          pinned("valibot"),
          pinned("tsx"),
        ]),
        "npm install react@18 react-dom@18",
      );
      const installed = JSON.parse(
        readFileSync(join(react18, "node_modules", "react", "package.json"), "utf8"),
      );
      assert.match(installed.version, /^18\./);
      await renderReact(react18, 18);
    });

    await t.test("type-checks the README's Vue and React examples with tsc", async () => {
      // The examples import the server's Api type from it.
      writeFileSync(join(project, "server.ts"), example("server.ts"));
      writeFileSync(join(project, "vue_app.ts"), example("vue_app.ts"));
      writeFileSync(join(project, "react_app.ts"), example("react_app.ts"));
      // The frameworks' own declarations are large; checking them again would
      // take minutes on a busy machine and proves nothing about SockSync.
      writeFileSync(
        join(project, "tsconfig.ui.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2022",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            types: ["node"],
            lib: ["ES2022", "DOM"],
          },
          files: ["vue_app.ts", "react_app.ts"],
        }),
      );
      ok(
        await run(
          process.execPath,
          [join(project, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.ui.json"],
          project,
          2 * MINUTE,
        ),
        "tsc -p tsconfig.ui.json",
      );
    });

    // The newcomer's path of docs/tables.md: the SQLite quickstart (examples/own_tables.ts is
    // the page's code block, whole) copied as is, on a free port, in a folder of its own.
    const tables = join(project, "tables");
    mkdirSync(tables);
    writeFileSync(join(tables, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(join(tables, "server.ts"), example("own_tables.ts"));
    for (const rt of runtimes) {
      await t.test(`the tables quickstart runs as written under ${rt[0]}`, async () => {
        rmSync(join(tables, "app.db"), { force: true });
        const port = await freePort();
        writeFileSync(join(tables, "server.ts"), example("own_tables.ts", port));
        const args = rt[0] === "Node" ? ["--import", "tsx", "server.ts"] : [...rt[2], "server.ts"];
        const r = ok(await run(rt[1], args, tables, MINUTE), `quickstart under ${rt[0]}`);
        assert.match(r.stdout, /^ada sees: ship it$/m);
      });
    }

    await t.test("the tables quickstart type-checks with the page's tsconfig", async () => {
      writeFileSync(join(tables, "server.ts"), example("own_tables.ts"));
      const page = readFileSync(join(root, "docs", "tables.md"), "utf8");
      const tsconfig = /### TypeScript set-up[\s\S]*?```json\n([\s\S]*?)```/.exec(page)?.[1];
      assert.ok(tsconfig, "docs/tables.md shows a tsconfig.json");
      writeFileSync(join(tables, "tsconfig.json"), tsconfig);
      ok(await run(process.execPath, [tsc, "--noEmit"], tables, 2 * MINUTE), "tsc --noEmit");
    });

    await t.test("a wrong row type fails at bind time, naming the column", async () => {
      writeFileSync(
        join(tables, "wrong.ts"),
        `import * as v from "valibot";
import { openSqliteDriver, sqliteTable } from "socksync/stores/sqlite_table";
const db = await openSqliteDriver("./app.db");
try {
  sqliteTable({ db, table: "notes", key: "id", schema: v.object({ updated_at: v.string() }) });
} catch (error) {
  console.log((error as Error).message);
}
db.close();
`,
      );
      const r = ok(
        await run(process.execPath, ["--import", "tsx", "wrong.ts"], tables),
        "wrong.ts",
      );
      assert.match(
        r.stdout,
        /^column "updated_at" of "notes" is INTEGER \(number\) but the schema's type is string$/m,
      );
    });

    await t.test("a Vite-style front end type-checks against the server's Api", async () => {
      // Vite's TypeScript templates' compiler options (erasableSyntaxOnly among them).
      const web = join(tables, "web");
      mkdirSync(join(web, "src"), { recursive: true });
      writeFileSync(
        join(web, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2022",
            useDefineForClassFields: true,
            lib: ["ES2022", "DOM", "DOM.Iterable"],
            module: "ESNext",
            skipLibCheck: true,
            moduleResolution: "bundler",
            allowImportingTsExtensions: true,
            verbatimModuleSyntax: true,
            moduleDetection: "force",
            noEmit: true,
            strict: true,
            noUnusedLocals: true,
            noUnusedParameters: true,
            erasableSyntaxOnly: true,
            noFallthroughCasesInSwitch: true,
            noUncheckedSideEffectImports: true,
          },
          include: ["src"],
        }),
      );
      // Both ways of typing a client: the server's Api type, or one declared with ApiShape.
      writeFileSync(
        join(web, "src", "main.ts"),
        `import type { Api } from "../../server.ts";
import { type ApiShape, connect } from "socksync";

interface Declared extends ApiShape {
  vars: {};
  lists: { notes: { item: { folder: string; text: string; updated_at: number }; params: { folder: string } } };
  functions: {};
}

const client = connect<Api>(\`ws://\${location.host}/ws/socksync\`);
const work = client.list("notes", { params: { folder: "work" }, pageSize: 20 });
const declared = connect<Declared>(\`ws://\${location.host}/ws/socksync\`);
const same = declared.list("notes", { params: { folder: "work" } });
work.onChange(() => {
  const texts: string[] = work.items.map((note) => note.value.text);
  const times: number[] = same.items.map((note) => note.value.updated_at);
  document.title = \`\${texts.join(", ")} \${times.length} \${work.getSnapshot().status}\`;
});
`,
      );
      ok(await run(process.execPath, [tsc, "-p", "."], web, 2 * MINUTE), "tsc -p web");
    });
  } finally {
    if (!process.env.SOCKSYNC_KEEP_PACKAGE_TEST) {
      rmSync(work, { recursive: true, force: true });
    } else console.log(`package_test: kept ${work}`);
  }
});
