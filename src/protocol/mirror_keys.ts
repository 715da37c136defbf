/**
 * The keys a side finds its mirrors by: a frame or an error names the
 * mirror it is about by its type, name and params (a var, a list view) or by
 * its list's name and an id (an item).
 *
 * @module
 */
import { paramsKey } from "./params.ts";

/**
 * The key a mirror is found by: its type, its name and its params.
 */
export function mirrorKey(type: unknown, name: unknown, params?: unknown): string {
  const base = `${type}:${name}`;
  return params === undefined ? base : `${base}\u0000${paramsKey(params)}`;
}

/**
 * The key of an item mirror: which frames and errors are about it.
 */
export function itemKey(name: string, id: string): string {
  // The name's length keeps "a:b" + "c" apart from "a" + "b:c".
  return `item:${name.length}:${name}:${id}`;
}
