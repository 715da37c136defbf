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
import type { AdminPage } from "../admin.ts";
import { sveltePlugin } from "./svelte_plugin.ts";

/**
 * A page built with one of the framework bindings, served under `/vue/`,
 * `/react/` or `/svelte/`.
 *
 * @example
 * ```ts
 * import type { BindingPage } from "./build.ts";
 * const page: BindingPage = { html: "<!doctype html>", script: "" };
 * ```
 */
export interface BindingPage {
  /** `GET /<framework>/`. */
  html: string;
  /** `GET /<framework>/app.js`, already bundled for browsers. */
  script: string;
}

/**
 * The pages built with `socksync/vue`, `socksync/react` and `socksync/svelte`.
 *
 * @example
 * ```ts
 * import type { BindingPage, BindingPages } from "./build.ts";
 * const empty: BindingPage = { html: "", script: "" };
 * const pages: BindingPages = { vue: empty, react: empty, svelte: empty };
 * ```
 */
export interface BindingPages {
  /** The page served under `/vue/`. */
  vue: BindingPage;
  /** The page served under `/react/`. */
  react: BindingPage;
  /** The page served under `/svelte/`. */
  svelte: BindingPage;
}

const BINDINGS = {
  vue: { title: "Vue", entry: "vue_app.ts" },
  react: { title: "React", entry: "react_app.ts" },
  svelte: { title: "Svelte", entry: "svelte_app.ts" },
} as const;

/**
 * Reads and bundles the `/vue/`, `/react/` and `/svelte/` pages (the
 * frameworks in production mode, as a user's build would ship them; the
 * Svelte components compiled by {@linkcode sveltePlugin}).
 *
 * @example
 * ```ts
 * import { buildBindingPages } from "./build.ts";
 * const pages = await buildBindingPages();
 * console.log(`${pages.vue.script.length} bytes of Vue page`);
 * ```
 */
export async function buildBindingPages(): Promise<BindingPages> {
  const here = (name: string) => fileURLToPath(new URL(name, import.meta.url).href);
  const shell = await readFile(here("binding.html"), "utf8");
  const esbuild = await import("esbuild");
  try {
    const built = await Promise.all(
      (Object.keys(BINDINGS) as (keyof typeof BINDINGS)[]).map(async (kind) => {
        const result = await esbuild.build({
          entryPoints: [here(BINDINGS[kind].entry)],
          bundle: true,
          write: false,
          format: "esm",
          platform: "browser",
          target: "es2022",
          minify: true,
          logLevel: "silent",
          plugins: kind === "svelte" ? [sveltePlugin()] : [],
          define: {
            "process.env.NODE_ENV": '"production"',
            __VUE_OPTIONS_API__: "false",
            __VUE_PROD_DEVTOOLS__: "false",
            __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: "false",
          },
        });
        const html = shell.replaceAll("FRAMEWORK", BINDINGS[kind].title)
          .replaceAll("SPECIFIER", kind);
        return [kind, { html, script: result.outputFiles[0].text }] as const;
      }),
    );
    return Object.fromEntries(built) as unknown as BindingPages;
  } finally {
    await esbuild.stop();
  }
}

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

/**
 * Reads and bundles the admin page (`/admin/`): its script with the SockSync
 * client and uPlot, its stylesheet with uPlot's.
 *
 * @example
 * ```ts
 * import { buildAdminPage } from "./build.ts";
 * const page = await buildAdminPage();
 * console.log(`${page.script.length} bytes of admin script`);
 * ```
 */
export async function buildAdminPage(): Promise<AdminPage> {
  const here = (name: string) => fileURLToPath(new URL(name, import.meta.url).href);
  const [html, login] = await Promise.all([
    readFile(here("admin.html"), "utf8"),
    readFile(here("admin_login.html"), "utf8"),
  ]);
  const esbuild = await import("esbuild");
  try {
    const [script, style] = await Promise.all(["admin.ts", "admin.css"].map(async (entry) => {
      const result = await esbuild.build({
        entryPoints: [here(entry)],
        bundle: true,
        write: false,
        format: "esm",
        platform: "browser",
        target: "es2022",
        minify: true,
        logLevel: "silent",
      });
      return result.outputFiles[0].text;
    }));
    return { html, login, script, style };
  } finally {
    await esbuild.stop();
  }
}
