/**
 * Values every connection of a hub would otherwise hold a copy of: the set of
 * function names a connection accepts by default, and each var's
 * subscription key. Made once and shared (a copy per connection otherwise).
 *
 * @module
 */
import type { ProvidedVar } from "./provided.ts";
import { subscriptionKey } from "./list_access.ts";

// The names of every function of a registry, shared by the connections that accept them all.
// Functions are only ever added, so a set of the same size is still current.
const allNames = new WeakMap<ReadonlyMap<string, unknown>, ReadonlySet<string>>();
// Every set `everyName` made: a connection must copy one before changing it.
const shared = new WeakSet<ReadonlySet<string>>();

/**
 * The names of every function in `functions`, as one set shared by every caller
 * until a function is added.
 */
export function everyName(functions: ReadonlyMap<string, unknown>): ReadonlySet<string> {
  let names = allNames.get(functions);
  if (names === undefined || names.size !== functions.size) {
    names = new Set(functions.keys());
    allNames.set(functions, names);
    shared.add(names);
  }
  return names;
}

// The subscription key of each var, made once and shared by every connection that holds it
// (a string per connection otherwise).
const varKeys = new WeakMap<ProvidedVar, { name: string; key: string }>();

/**
 * The subscription key of a var, made once per var.
 */
export function varKey(local: ProvidedVar, name: string): string {
  const known = varKeys.get(local);
  if (known?.name === name) return known.key;
  const key = subscriptionKey("var", name);
  varKeys.set(local, { name, key });
  return key;
}

/**
 * Whether `names` is a set {@linkcode everyName} made, shared by several
 * connections (copy it before changing it).
 */
export function isEveryName(names: ReadonlySet<string>): boolean {
  return shared.has(names);
}

/**
 * The subscription key {@linkcode varKey} made for `local`, if it made one:
 * a connection keeps the var and finds its key again.
 */
export function varKeyOf(local: ProvidedVar): string | undefined {
  return varKeys.get(local)?.key;
}
