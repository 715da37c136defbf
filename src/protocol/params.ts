/**
 * List params: the canonical key of a params object (the same object, whatever
 * the order of its keys, gives the same key) and their validation against a
 * list's schema, with the error codes of the protocol (5 missing, 6 invalid).
 *
 * @module
 */
import * as v from "valibot";
import { ErrorCode, SockSyncError } from "../errors.ts";

/**
 * A list view's params as they travel: a JSON object.
 *
 * @example
 * ```ts
 * import type { Params } from "./params.ts";
 * const params: Params = { room: "general" };
 * ```
 */
export type Params = Readonly<Record<string, unknown>>;

/**
 * The canonical JSON of a value: object keys sorted at every depth, so that
 * equal params give equal keys. `undefined` (no params) gives `""`.
 *
 * @example
 * ```ts
 * import { paramsKey } from "./params.ts";
 * paramsKey({ b: 1, a: [2, { d: 3, c: 4 }] }); // '{"a":[2,{"c":4,"d":3}],"b":1}'
 * ```
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
 * Validates params sent for a list against its schema: absent → code 5,
 * failing the schema → code 6 naming the offending key. A plain `v.object`
 * schema is held strict: a key it does not declare is refused (code 6)
 * rather than silently dropped, since a dropped key would widen the query.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { parseParams } from "./params.ts";
 * parseParams(v.object({ room: v.string() }), { room: "general" }, "messages"); // { room: "general" }
 * ```
 */
export function parseParams<P>(
  schema: v.GenericSchema<unknown, P>,
  raw: unknown,
  list: string,
): P {
  if (raw === undefined) {
    throw new SockSyncError(ErrorCode.MissingField, `missing field: params (list ${list})`);
  }
  const entries = schema as { type?: string; entries?: Record<string, unknown> };
  if (entries.type === "object" && entries.entries && typeof raw === "object" && raw !== null) {
    for (const key of Object.keys(raw)) {
      if (!Object.hasOwn(entries.entries, key)) {
        throw new SockSyncError(ErrorCode.InvalidArguments, `unknown param: ${key}`);
      }
    }
  }
  const parsed = v.safeParse(schema, raw);
  if (parsed.success) return parsed.output;
  const issue = parsed.issues[0];
  const where = issue.path?.map((p) => String(p.key)).join(".");
  if (where && issue.input === undefined) {
    throw new SockSyncError(ErrorCode.InvalidArguments, `missing param: ${where}`);
  }
  throw new SockSyncError(
    ErrorCode.InvalidArguments,
    where ? `invalid param: ${where}` : "invalid params",
  );
}
