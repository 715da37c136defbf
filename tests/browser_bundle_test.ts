/**
 * The `socksync` entry point bundles for the browser without server code:
 * no Hono, no store drivers, no runtime APIs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

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
