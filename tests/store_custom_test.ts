// The custom stores the docs show, run against the conformance kit so the
// examples stay true: the README's array list source (its own kit run is
// registered here too, on every runtime of the suite) and the VarStore
// example of src/store.ts.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { VarStore } from "../src/store.ts";
import { varStoreConformance } from "../src/testing/mod.ts";
import "../examples/array_list_source_test.ts";

// The `VarStore` example in src/store.ts's JSDoc, taken from the source as
// written and run through the kit it advertises.
const storeSource = readFileSync(
  fileURLToPath(new URL("../src/store.ts", import.meta.url).href),
  "utf8",
);
const exampleDir = mkdtempSync(join(tmpdir(), "socksync-example-"));
const exampleFile = join(exampleDir, "var_store_example.ts");
writeFileSync(
  exampleFile,
  `${
    jsdocExample(storeSource, "export interface VarStore").replace(
      '"./store.ts"',
      JSON.stringify(new URL("../src/store.ts", import.meta.url).href),
    )
  }\nexport { store };\n`,
);
const example = await import(pathToFileURL(exampleFile).href) as { store: VarStore };
rmSync(exampleDir, { recursive: true, force: true });
varStoreConformance("the VarStore example in src/store.ts", () => example.store);

/** The code of the `@example` in the JSDoc right above `declaration`. */
function jsdocExample(source: string, declaration: string): string {
  const end = source.indexOf(declaration);
  assert.ok(end > 0, `${declaration} not found`);
  const doc = source.slice(source.lastIndexOf("/**", end), end);
  const code = /```ts\n([\s\S]*?)```/.exec(doc);
  assert.ok(code, `no example above ${declaration}`);
  return code[1].split("\n").map((line) => line.replace(/^\s*\* ?/, "")).join("\n");
}
