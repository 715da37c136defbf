// deno-lint-ignore-file require-await
// The custom store example from the README ("Writing your own store"), run
// against the conformance kit so the example stays true.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SockSyncError } from "../src/errors.ts";
import type {
  ListChange,
  ListItem,
  ListListener,
  ListPage,
  ListSource,
  VarStore,
} from "../src/store.ts";
import { listSourceConformance, varStoreConformance } from "../src/testing.ts";

/** A list over a plain array: O(n) changes, fine for a few thousand items. */
class ArrayListSource<T> implements ListSource<T> {
  #items: ListItem<T>[] = [];
  #version = 0;
  #listeners = new Set<ListListener<T>>();

  async count() {
    return this.#items.length;
  }
  async page(offset: number, limit: number): Promise<ListPage<T>> {
    const start = Math.max(0, offset);
    const items = limit < 1 ? [] : this.#items.slice(start, start + limit);
    // Copies, so callers never change what the store holds.
    return {
      items: structuredClone(items),
      total: this.#items.length,
      version: this.#version,
    };
  }
  async get(id: string) {
    return structuredClone(this.#items.find((item) => item.id === id));
  }
  async indexOf(id: string) {
    return this.#items.findIndex((item) => item.id === id);
  }
  async insert(index: number, value: T, id: string = crypto.randomUUID()) {
    if (!Number.isInteger(index) || index < 0 || index > this.#items.length) {
      throw new SockSyncError(6, "index out of range");
    }
    if (this.#items.some((item) => item.id === id)) {
      throw new SockSyncError(6, "duplicate id");
    }
    this.#items.splice(index, 0, { id, value: structuredClone(value) });
    this.#emit({
      op: "insert",
      index,
      id,
      value,
      total: this.#items.length,
      version: ++this.#version,
    });
    return { id, value: structuredClone(value) };
  }
  async set(id: string, value: T) {
    const index = this.#find(id);
    this.#items[index] = { id, value: structuredClone(value) };
    this.#emit({
      op: "set",
      index,
      id,
      value,
      total: this.#items.length,
      version: ++this.#version,
    });
  }
  async delete(id: string) {
    const index = this.#find(id);
    this.#items.splice(index, 1);
    this.#emit({
      op: "delete",
      index,
      id,
      total: this.#items.length,
      version: ++this.#version,
    });
  }
  subscribe(listener: ListListener<T>) {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }
  #find(id: string): number {
    const index = this.#items.findIndex((item) => item.id === id);
    if (index < 0) throw new SockSyncError(4, `unknown id ${id}`);
    return index;
  }
  #emit(change: ListChange<T>) {
    for (const listener of [...this.#listeners]) listener(change);
  }
}

listSourceConformance("custom ArrayListSource", () => new ArrayListSource());

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
