/**
 * The `/svelte/` page's functions, typed from the demo server's declarations
 * through its client, and the page's error line (a store).
 *
 * @module
 */
import { writable } from "svelte/store";
import { createHooks } from "../../../src/ui/svelte/mod.ts";
import { connectPage, failure } from "../connect_page.ts";

/** The page's client (the Notes card authenticates it after a sign-in). */
export const client = connectPage();

/** The page's functions: `useVar`, `useList`, `useCall`, `useConnection`. */
export const { useCall, useConnection, useList, useVar } = createHooks(client);

/** The page's error line: the last failed call's message, or "". */
export const error = writable("");

/** Runs a call; a failure shows in the page's error line. */
export async function run<R>(name: string, call: () => Promise<R>): Promise<R | undefined> {
  try {
    const result = await call();
    error.set("");
    return result;
  } catch (reason) {
    error.set(failure(name, reason));
    return undefined;
  }
}
