/**
 * An esbuild plugin that compiles `.svelte` files with the Svelte compiler,
 * for the `/svelte/` demo page (what a Svelte app's build plugin does).
 * The compiler is a devDependency, loaded only when the page is built.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";

/** The part of esbuild's plugin API this plugin uses. */
interface PluginBuild {
  onLoad(
    options: { filter: RegExp },
    load: (
      args: { path: string },
    ) => Promise<{ contents: string; loader: "js"; resolveDir: string }>,
  ): void;
}

/**
 * The plugin: each `.svelte` file compiles to a client module, in
 * production mode.
 *
 * @example
 * ```ts
 * import { sveltePlugin } from "./svelte_plugin.ts";
 * const plugins = [sveltePlugin()]; // esbuild.build({ ..., plugins })
 * ```
 */
export function sveltePlugin(): { name: string; setup(build: PluginBuild): void } {
  return {
    name: "svelte",
    setup(build) {
      build.onLoad({ filter: /\.svelte$/ }, async ({ path }) => {
        const { compile } = await import("svelte/compiler");
        const { js } = compile(await readFile(path, "utf8"), {
          filename: path,
          generate: "client",
          dev: false,
        });
        return { contents: js.code, loader: "js", resolveDir: dirname(path) };
      });
    },
  };
}
