/**
 * List params: the canonical key of a params object (the same object, whatever
 * the order of its keys, gives the same key) and their validation against a
 * list's schema, with the error codes of the protocol (5 missing, 6 invalid).
 *
 * @module
 */
import * as v from "valibot";
import { ErrorCode, SockSyncError } from "../errors.ts";
import { declaredKeys, invalidMessage, unexpectedKeys } from "./invalid.ts";

/**
 * A list view's params as they travel: a JSON object.
 */
export type Params = Readonly<Record<string, unknown>>;

/**
 * The canonical JSON of a value: object keys sorted at every depth, so that
 * equal params give equal keys. `undefined` (no params) gives `""`.
 */
export function paramsKey(params: unknown): string {
  if (params === undefined) return "";
  return JSON.stringify(sorted(params));
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined) out[key] = sorted(item);
  }
  return out;
}

/**
 * Validates params sent for a list against its schema: absent → code 5
 * (unless the schema takes `undefined`), failing the schema → code 6 with one
 * message naming the missing keys, the unexpected ones and, for a wrong
 * value, what was expected and the type that came. A plain `v.object` schema is held strict: a key it does not
 * declare is refused (code 6) rather than silently dropped, since a dropped
 * key would widen the query.
 */
export function parseParams<P>(
  schema: v.GenericSchema<unknown, P>,
  raw: unknown,
  list: string,
): P {
  if (raw === undefined) {
    // A schema that takes no params (`v.optional(…)`) lets a subscriber send none.
    const none = v.safeParse(schema, undefined);
    if (none.success) return none.output;
    throw new SockSyncError(ErrorCode.MissingField, `missing field: params (list ${list})`);
  }
  const declared = declaredKeys(schema);
  const parsed = v.safeParse(schema, raw);
  const unexpected = unexpectedKeys(raw, declared).length > 0;
  if (parsed.success && !unexpected) return parsed.output;
  throw new SockSyncError(
    ErrorCode.InvalidArguments,
    invalidMessage("params", parsed.issues ?? [], raw, declared),
  );
}
