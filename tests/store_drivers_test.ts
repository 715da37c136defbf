/**
 * Drivers are optional peer packages: a missing one fails with an error that
 * names the entry point, the package and the command that installs it, not
 * with the module resolver's stack trace.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { importDriver, isMissingDriver, missingDriver } from "../stores/common/driver_import.ts";

const INSTALL = /(npm install |bun add |deno add npm:)/;

describe("missing drivers", () => {
  test("a failing import becomes one line naming the package and its install command", async () => {
    // A package that exists nowhere: the import fails as a missing ioredis would.
    const specifier = `socksync-no-such-package-${Math.random().toString(36).slice(2)}`;
    const error = await importDriver(
      { entry: "socksync/stores/redis", pkg: "ioredis" },
      () => import(specifier),
    ).then(() => assert.fail("imported a package that does not exist"), (e: Error) => e);
    assert.ok(isMissingDriver(error));
    assert.equal(error.name, "MissingDriverError");
    assert.match(
      error.message,
      new RegExp(`^socksync/stores/redis needs the ioredis package: ${INSTALL.source}ioredis \\(`),
    );
    assert.ok(error.message.includes(specifier), "says what failed to load");
    assert.ok(!error.message.includes("\n"), `one line, no stack: ${error.message}`);
    assert.ok(error.cause instanceof Error, "keeps the loader's error as the cause");
  });

  test("names the alternative and the version when there is one", () => {
    const error = missingDriver(
      {
        entry: "socksync/stores/sqlite",
        pkg: "better-sqlite3",
        version: "12",
        otherwise: "node:sqlite (Deno, Bun, Node >= 22.13)",
      },
      new Error("Cannot find package 'better-sqlite3'\n    at resolve (node:internal)"),
    );
    assert.match(
      error.message,
      new RegExp(
        "^socksync/stores/sqlite needs node:sqlite \\(Deno, Bun, Node >= 22\\.13\\) or the " +
          `better-sqlite3 package: ${INSTALL.source}better-sqlite3@12 ` +
          "\\(loading it failed: Cannot find package 'better-sqlite3'\\)$",
      ),
    );
  });

  test("the stores load their drivers only when a store is opened", () => {
    // A static import would fail at `import "socksync/stores/redis"`, before
    // any code could say what is missing.
    const dir = fileURLToPath(new URL("../stores/", import.meta.url).href);
    const files: string[] = [];
    const walk = (sub: string) => {
      for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
        const rel = sub ? `${sub}/${entry.name}` : entry.name;
        if (entry.isDirectory()) walk(rel);
        else if (entry.name.endsWith(".ts")) files.push(rel);
      }
    };
    walk("");
    // One folder per backend: every backend's modules are read, not only the top.
    assert.ok(files.length >= 30, `only ${files.length} store modules found`);
    for (const file of files) {
      const source = readFileSync(join(dir, file), "utf8");
      for (const driver of ["ioredis", "better-sqlite3", "postgres"]) {
        const imports = [...source.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"([^"]+)"/gms)];
        for (const [statement, typeOnly, from] of imports) {
          if (from !== driver) continue;
          assert.ok(typeOnly, `stores/${file} imports ${driver} statically: ${statement}`);
        }
      }
    }
  });
});
