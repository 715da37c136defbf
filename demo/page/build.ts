/**
 * Builds the demo page at server start: the HTML and CSS as they are, and
 * `main.ts` (which uses the SockSync client) bundled for browsers with
 * esbuild, whose JS API runs on Node, Bun and Deno alike.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { DemoPage } from "../app.ts";

/**
 * Reads and bundles the demo page.
 *
 * @example
 * ```ts
 * import { buildPage } from "./build.ts";
 * const page = await buildPage();
 * console.log(`${page.script.length} bytes of script`);
 * ```
 */
export async function buildPage(): Promise<DemoPage> {
  const here = (name: string) => fileURLToPath(new URL(name, import.meta.url).href);
  const [html, style] = await Promise.all([
    readFile(here("index.html"), "utf8"),
    readFile(here("style.css"), "utf8"),
  ]);
  // Imported here so that tests that only need the hub never load esbuild.
  const esbuild = await import("esbuild");
  try {
    const result = await esbuild.build({
      entryPoints: [here("main.ts")],
      bundle: true,
      write: false,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      logLevel: "silent",
    });
    return { html, style, script: result.outputFiles[0].text };
  } finally {
    // esbuild keeps a child process that would otherwise hold the server open.
    await esbuild.stop();
  }
}
