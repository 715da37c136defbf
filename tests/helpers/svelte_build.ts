/**
 * Compiles Svelte components with the Svelte compiler and bundles them,
 * with the Svelte runtime and `socksync/svelte`, into one module that the
 * binding tests import: Node, Deno and Bun resolve `svelte` to its server
 * build, so the client build (what `mount` needs) comes through esbuild's
 * `browser` condition, as it does in an app. `generate: "client"` renders
 * into tiny_dom.ts through svelte_renderer.ts; `generate: "server"` gives
 * `render` from `svelte/server`.
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url).href);
const RENDERER = fileURLToPath(new URL("./svelte_renderer.ts", import.meta.url).href);

/**
 * Bundles `entry` (TypeScript source) that imports the components in
 * `components` as `./<Name>.svelte`, and imports the bundle. Paths like
 * `socksync/svelte` resolve through the repo's import map (deno.json).
 */
export async function buildSvelte<M>(
  entry: string,
  components: Record<string, string>,
  generate: "client" | "server" = "client",
): Promise<M> {
  const { compile } = await import("svelte/compiler");
  const esbuild = await import("esbuild");
  const dir = mkdtempSync(join(tmpdir(), "socksync-svelte-"));
  try {
    const result = await esbuild.build({
      stdin: { contents: entry, resolveDir: ROOT, sourcefile: "entry.ts", loader: "ts" },
      bundle: true,
      write: false,
      format: "esm",
      platform: generate === "client" ? "browser" : "node",
      target: "es2022",
      logLevel: "silent",
      alias: {
        "socksync/svelte": join(ROOT, "src/ui/svelte/mod.ts"),
        "socksync/renderer": RENDERER,
      },
      plugins: [{
        name: "svelte",
        setup(build) {
          build.onResolve({ filter: /\.svelte$/ }, (args) => ({
            path: args.path.replace(/^\.\//, ""),
            namespace: "svelte",
          }));
          build.onLoad({ filter: /.*/, namespace: "svelte" }, (args) => {
            const source = components[args.path.replace(/\.svelte$/, "")];
            if (source === undefined) return { errors: [{ text: `no component ${args.path}` }] };
            const { js } = compile(source, {
              filename: args.path,
              generate,
              ...(generate === "client"
                ? { experimental: { customRenderer: "socksync/renderer" } }
                : {}),
            });
            return { contents: js.code, loader: "js", resolveDir: ROOT };
          });
        },
      }],
    });
    const file = join(dir, "bundle.mjs");
    writeFileSync(file, result.outputFiles[0].text);
    return await import(pathToFileURL(file).href) as M;
  } finally {
    await esbuild.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
