/**
 * The conformance kit for stores (`socksync/testing`): call
 * {@linkcode listSourceConformance} or {@linkcode varStoreConformance} at the
 * top of a test file and it registers `node:test` cases that check the
 * contracts of `src/store.ts`. The cases run under `node --test` (with
 * `--import tsx` for TypeScript on Node), `deno test` and `bun test`.
 *
 * The cases live in `src/testing/`, one file per group: paging, ids and
 * errors, concurrency, values, the change feed, the array model and the
 * optional `update` for lists; values, `update` and `subscribe` for vars;
 * random writes against a reference query for read-only sorted sources
 * ({@linkcode sortedSourceConformance}).
 *
 * @module
 */
import { describe } from "node:test";
import type { ListSource, VarStore } from "../store.ts";
import { type ConformanceOptions, listKit, type Maker, varKit } from "./kit.ts";
import { pagingCases } from "./list_paging.ts";
import { idCases } from "./list_ids.ts";
import { concurrencyCases } from "./list_concurrency.ts";
import { valueCases } from "./list_values.ts";
import { feedCases } from "./list_feed.ts";
import { modelCases } from "./list_model.ts";
import { updateCases } from "./list_update.ts";
import { sortedCases, type SortedConformanceOptions, type SortedFixture } from "./sorted_cases.ts";
import { varCloseCases, varSubscribeCases, varUpdateCases, varValueCases } from "./var_cases.ts";

export type { ConformanceOptions, Maker } from "./kit.ts";
export type { SortedConformanceOptions, SortedFixture } from "./sorted_cases.ts";

/**
 * Registers `node:test` cases that check a {@linkcode ListSource} against the
 * contract: ordering, paging and clamping, ids, errors and their codes,
 * concurrent inserts, unicode and 1 MB values, copies, the change feed,
 * unsubscribing, closing (a closed list reports nothing more), the optional
 * `update`, and random operations against an array model. `makeSource` is
 * called once per case and must give a fresh, empty list; the kit closes it
 * at the end of the case.
 *
 * @example
 * ```ts
 * import { listSourceConformance } from "./mod.ts";
 * import { MemoryListSource } from "../../stores/memory/mod.ts";
 * // Called at the top level of a test file (here wrapped, so that it only type-checks):
 * export const suite = () => listSourceConformance("memory list", () => new MemoryListSource());
 * ```
 */
export function listSourceConformance(
  name: string,
  makeSource: Maker<ListSource<unknown>>,
  options: ConformanceOptions = {},
): void {
  const kit = listKit(makeSource, options);
  describe(name, { skip: options.skip ?? false }, () => {
    describe("paging", () => pagingCases(kit));
    describe("ids and errors", () => idCases(kit));
    describe("concurrency", () => concurrencyCases(kit));
    describe("values", () => valueCases(kit));
    describe("change feed", () => feedCases(kit));
    describe("update", () => updateCases(kit));
    describe("model", () => modelCases(kit));
  });
}

/**
 * Registers `node:test` cases that check a {@linkcode VarStore}: unknown vars,
 * JSON round trips (unicode, NUL, 1 MB), overwrites, copies, the optional
 * `update`, `subscribe` and `close`. Var names are random, so `makeStore` may
 * hand out one shared store. With `options.makeOther` (a second store on the
 * same data) the kit also checks what `subscribe` reports and that its stop
 * function stops it.
 *
 * @example
 * ```ts
 * import { varStoreConformance } from "./mod.ts";
 * import { MemoryVarStore } from "../../stores/memory/mod.ts";
 * // Called at the top level of a test file (here wrapped, so that it only type-checks):
 * export const suite = () => varStoreConformance("memory vars", () => new MemoryVarStore());
 * ```
 */
export function varStoreConformance(
  name: string,
  makeStore: Maker<VarStore>,
  options: ConformanceOptions = {},
): void {
  const kit = varKit(makeStore, options);
  describe(name, { skip: options.skip ?? false }, () => {
    describe("values", () => varValueCases(kit));
    describe("update", () => varUpdateCases(kit));
    describe("subscribe", () => varSubscribeCases(kit));
    describe("close", () => varCloseCases(kit));
  });
}

/**
 * Registers `node:test` cases that check a read-only, sorted
 * {@linkcode ListSource}: a query over data the application writes itself
 * (a table binding such as `sqliteTable`, or one of your own). `makeFixture`
 * is called once per case and gives fresh backing data, a way to make the
 * source over it, a random write, and the reference query. After every
 * random write, pages, counts, `get` and `indexOf` must equal the reference,
 * and the source's change feed alone must keep an array equal to it (each
 * `insert`, `delete` and `set` at its exact index, versions increasing); the
 * write methods must reject.
 *
 * @example
 * ```ts
 * import { sortedSourceConformance } from "./mod.ts";
 * import { MemoryListSource } from "../../stores/memory/mod.ts";
 * // Called at the top level of a test file (here wrapped, so that it only type-checks):
 * export const suite = () =>
 *   sortedSourceConformance("my binding", () => ({
 *     source: () => new MemoryListSource(),
 *     write() {},
 *     reference: () => [],
 *   }));
 * ```
 */
export function sortedSourceConformance<T>(
  name: string,
  makeFixture: () => Promise<SortedFixture<T>> | SortedFixture<T>,
  options: SortedConformanceOptions = {},
): void {
  describe(name, { skip: options.skip ?? false }, () => sortedCases(makeFixture, options));
}
