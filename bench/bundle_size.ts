/**
 * The browser bundle of `connect` alone (what an application that only
 * consumes imports), as esbuild bundles it for the browser (minified, ESM),
 * gzipped at level 9: goal ≤ 8 KB. socket.io-client's `io` alone, bundled
 * the same way, is the peer; then what the features every client carries
 * cost (the bundle again with each one's module replaced by an empty stub),
 * what an opt-in feature adds when imported, and the heaviest modules of the
 * bundle.
 * tests/browser_bundle_test.ts fails when the figure grows past its bound.
 *
 *   node --import tsx bench/bundle_size.ts [--no-write]
 *
 * `--no-write` prints the section instead of writing it into BENCHMARKS.md.
 */
import { gzipSync } from "node:zlib";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { args, commandLine, goalMark, sectionHead, table, writeSection } from "./lib.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const GOAL = 8 * 1024;

interface Bundle {
  min: number;
  gzip: number;
  modules: { path: string; bytes: number }[];
}

/** Modules replaced by a stub exporting the same names, each standing for a feature. */
type Stubs = Record<string, string>;

async function bundle(contents: string, stubs: Stubs = {}): Promise<Bundle> {
  const stub: esbuild.Plugin = {
    name: "stub",
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (file) => {
        const path = relative(ROOT, file.path);
        return path in stubs ? { contents: stubs[path], loader: "ts" } : undefined;
      });
    },
  };
  const result = await esbuild.build({
    plugins: [stub],
    stdin: { contents, resolveDir: ROOT, loader: "js" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const code = result.outputFiles[0].contents;
  const inputs = Object.values(result.metafile.outputs)[0].inputs;
  const modules = Object.entries(inputs)
    .map(([path, { bytesInOutput }]) => ({
      // A package by its path from node_modules (which may be a link to another checkout).
      path: path.includes("node_modules/")
        ? path.slice(path.lastIndexOf("node_modules/"))
        : relative(ROOT, join(ROOT, path)),
      bytes: bytesInOutput,
    }))
    .sort((a, b) => b.bytes - a.bytes);
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length, modules };
}

const FEATURES: [string, Stubs][] = [
  ["name suggestions (`did you mean`)", {
    "src/protocol/closest_name.ts": 'export function didYouMean() { return ""; }',
  }],
  // What validating every frame with valibot costs: its schema kinds and the frame schemas.
  ["frame validation (valibot and the frame schemas)", {
    "src/protocol/schemas.ts": "export const MessageSchemas = {};",
  }],
  ["heartbeat (probe and idle close)", {
    "src/peer/idle_timer.ts": "export class IdleTimer {}",
  }],
];

/** Features a client carries only when given them, with the name it imports. */
const OPT_IN: [string, string][] = [
  ["optimistic calls, opt-in (`connect(url, { optimisticCalls })`)", "optimisticCalls"],
  ["credentials and their refresh, opt-in (`connect(url, { auth, socketAuth })`)", "socketAuth"],
];

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

try {
  const ours = await bundle('import { connect } from "./mod.ts"; globalThis.c = connect;');
  const peer = await bundle('import { io } from "socket.io-client"; globalThis.c = io;');
  const rows = [
    [
      "SockSync `connect`",
      `${ours.gzip} B (${kb(ours.gzip)})`,
      kb(ours.min),
      `≤ 8 KB ${goalMark(ours.gzip <= GOAL)}`,
    ],
    ["socket.io-client `io`", `${peer.gzip} B (${kb(peer.gzip)})`, kb(peer.min), "(peer)"],
  ];
  const entry = 'import { connect } from "./mod.ts"; globalThis.c = connect;';
  const features: string[][] = [];
  for (const [feature, stubs] of FEATURES) {
    const without = await bundle(entry, stubs);
    features.push([feature, `${ours.gzip - without.gzip} B`]);
  }
  // Opt-in features cost only the clients that import them: the bundle with the import, less.
  for (const [feature, name] of OPT_IN) {
    const withIt = await bundle(
      `import { connect, ${name} } from "./mod.ts"; globalThis.c = [connect, ${name}];`,
    );
    features.push([feature, `${withIt.gzip - ours.gzip} B, only when imported`]);
  }
  const heaviest = ours.modules.slice(0, 10).map((m) => [`\`${m.path}\``, kb(m.bytes)]);
  const md = [
    sectionHead("9. Browser bundle of `connect` alone", commandLine()),
    '`import { connect } from "socksync"` alone, bundled by esbuild (`--bundle --minify --format=esm --platform=browser`), gzipped at level 9 (`node:zlib`).',
    "",
    table(["bundle", "min + gzip", "minified", "goal"], rows),
    "",
    "What features cost (min + gzip): those every client carries, the bundle again with the feature's module stubbed out; an opt-in one, the bundle with its import less the bundle without:",
    "",
    table(["feature", "min + gzip"], features),
    "",
    "Heaviest modules of the `connect` bundle (minified bytes in the output):",
    "",
    table(["module", "minified"], heaviest),
  ].join("\n");
  if (args().has("no-write")) console.log(md);
  else writeSection("bundle", md);
  console.log(`connect alone: ${ours.gzip} B min+gzip (${ours.min} B minified)`);
} finally {
  await esbuild.stop();
}
