/**
 * The `socksync` entry point bundles for the browser without server code:
 * no Hono, no store drivers, no runtime APIs; and `connect` alone, what an
 * application that only consumes carries, stays small.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/**
 * Bytes (minified, gzip level 9) the bundle of `connect` alone may reach. The goal is 8 KB (8,192
 * B); the client is at 8,570 B with Node's zlib, plus a margin of about 2% for the other runtimes'
 * zlib. It was 8,789 B before error and close codes became constants a bundler writes in, and
 * mirrors, their opener and the consumer stopped repeating what another part does; 9,222 B before
 * the frame schemas were built from one table, error replies became `errorFrame`'s object
 * stringified, name suggestions took one pass and mirrors shared their snapshot fields; 10,170 B
 * before the client's peer checked frames itself and took only the limits it applies; 11,277 B
 * before that peer was written apart from the server's and authentication over the socket moved
 * into `socketAuth`; 12,620 B before every scalar check became one valibot kind, `custom`, and
 * optimistic calls became opt-in; 16,013 B before the client left the provider, the shared idle
 * sweep and conflation out. What still keeps it above the goal (valibot, which validates every
 * frame, among it) is listed in BENCHMARKS.md section 9.
 */
const CONNECT_BOUND = 8_710;

test("a browser bundle of mod.ts contains the client and no server code", async () => {
  const esbuild = await import("esbuild");
  try {
    const result = await esbuild.build({
      entryPoints: [fileURLToPath(import.meta.resolve("../mod.ts"))],
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    const forbidden = inputs.filter((path) =>
      /node_modules\/(hono|@hono|ioredis|better-sqlite3|esbuild)\//.test(path) ||
      /src\/serve\/|stores\//.test(path)
    );
    assert.deepEqual(forbidden, [], "server-only modules in the browser bundle");
    const js = result.outputFiles[0].text;
    assert.ok(/\bClient\b/.test(js) && /\bconnect\b/.test(js), "the client is in the bundle");
    const runtimeApi = /from ["']node:|require\(["']node:|\bDeno\.|\bBun\./.exec(js);
    assert.equal(runtimeApi, null, `runtime API in the bundle: ${runtimeApi?.[0]}`);
    // The whole entry, unminified, the hub included: 143 KB before presence, metrics, auth and
    // heartbeats, 201 KB with them. The bound catches a framework or a driver pulled in (Hono
    // alone adds ~60 KB); the size of `connect` alone is measured by the bench.
    assert.ok(js.length < 240_000, `bundle is ${js.length} bytes`);
  } finally {
    await esbuild.stop();
  }
});

test("the browser bundle of connect alone stays within its bound (min + gzip)", async () => {
  const esbuild = await import("esbuild");
  try {
    const result = await esbuild.build({
      stdin: {
        contents: 'import { connect } from "./mod.ts"; globalThis.c = connect;',
        resolveDir: dirname(fileURLToPath(import.meta.resolve("../mod.ts"))),
        loader: "js",
      },
      bundle: true,
      minify: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    // The modules that left code in the output (the metafile's inputs are all those read).
    const output = Object.values(result.metafile.outputs)[0].inputs;
    const kept = Object.keys(output).filter((path) => output[path].bytesInOutput > 0);
    // What a client that provides nothing never runs: the server's peer and its core, its frame
    // guard (rate limits, field peek), the provider, conflation, the session; and optimistic
    // calls and authentication over the socket, which a client carries only when given
    // `optimisticCalls` or `socketAuth`.
    const unused = kept.filter((path) =>
      /src\/peer\/(peer|peer_core|frame_guard|provider|backpressure|session)\.ts$/.test(path) ||
      /src\/server\//.test(path) || /src\/client\/(optimistic|auth)\.ts$/.test(path)
    );
    assert.deepEqual(unused, [], "server-side or opt-in parts in the bundle of connect");
    const bytes = gzipSync(result.outputFiles[0].contents, { level: 9 }).length;
    assert.ok(
      bytes <= CONNECT_BOUND,
      `connect alone is ${bytes} B min+gzip, bound ${CONNECT_BOUND}`,
    );
  } finally {
    await esbuild.stop();
  }
});
