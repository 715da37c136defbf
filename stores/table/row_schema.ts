/**
 * A table binding's row schema (a valibot object schema, as `hub.list` takes):
 * its keys are the value columns, its type is the item type, and each column's
 * SQL type is checked against it when the query is bound (a column that cannot
 * give the schema's type fails, naming the column, its SQL type and the
 * schema's type). Rows are converted where the mapping is exact (an integer
 * 0/1 to a boolean, JSON text to a value, a numeric's text to a string, a
 * timestamp to a `Date`, an integer to a `bigint`) and then parsed by the
 * schema on every read.
 *
 * @module
 */
import * as v from "valibot";
import { ErrorCode, SockSyncError } from "../../src/errors.ts";

/**
 * The JS kinds of values: what a column gives and what a schema takes.
 */
export type JsKind = "string" | "number" | "bigint" | "boolean" | "json" | "date" | "null";

/**
 * A column as the binding reads it: its SQL type, the kinds its values come
 * as, and whether it may be NULL.
 */
export interface ColumnType {
  /** The column's name. */
  name: string;
  /** Its SQL type as the database declares it. */
  sqlType: string;
  /** The kinds its values come as (NULL aside). */
  gives: JsKind[];
  /** Whether its exact text can be read instead (PostgreSQL numbers): a string schema then gets it. */
  exactText?: boolean;
  /** Whether it may hold NULL. */
  nullable: boolean;
  /** Whether its integers stand for booleans (SQLite, which has no boolean type): 0 and 1. */
  intBool?: boolean;
}

/**
 * A row schema as a binding takes it: a valibot object schema.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import type { RowSchema } from "./row_schema.ts";
 * const Order: RowSchema = v.object({ customer: v.string(), total: v.string() });
 * ```
 */
export type RowSchema = v.GenericSchema<Record<string, unknown>, Record<string, unknown>> & {
  readonly entries: Readonly<Record<string, v.GenericSchema>>;
};

/**
 * How each column of a row is read for a schema: its conversion, decided at
 * bind time by {@linkcode bindRowSchema}.
 */
export interface RowReader {
  /** The columns whose exact text (not their number) is read. */
  readonly exactText: ReadonlySet<string>;
  /** Converts and parses a row's value columns; throws code 8 naming the row and column. */
  read(value: Record<string, unknown>, id: string): Record<string, unknown>;
}

/**
 * The value columns a row schema names: its keys.
 */
export function schemaColumns(schema: RowSchema): string[] {
  if (!schema || typeof schema.entries !== "object") {
    throw new SockSyncError(ErrorCode.Other, "a table's schema must be a valibot object schema");
  }
  return Object.keys(schema.entries);
}

/**
 * Checks each column against the schema's type for it (code 8 naming the
 * column, its SQL type and the schema's type when it cannot give it) and
 * returns how to read rows.
 */
export function bindRowSchema(
  table: string,
  schema: RowSchema,
  columns: readonly ColumnType[],
): RowReader {
  const conversions = new Map<string, (value: unknown) => unknown>();
  const exactText = new Set<string>();
  for (const column of columns) {
    const entry = schema.entries[column.name];
    if (!entry) continue;
    const takes = kindsOf(entry);
    const fail = (why: string) =>
      new SockSyncError(
        ErrorCode.Other,
        `column "${column.name}" of "${table}" is ${column.sqlType} (${column.gives.join(" or ")}${
          column.nullable ? " or null" : ""
        }) but the schema's type is ${describe(takes)}${why}`,
      );
    if (column.nullable && !takes.has("null") && !takes.has("any")) {
      throw fail(": it may be NULL (make the schema v.nullable, or the column NOT NULL)");
    }
    if (takes.has("any") || column.gives.some((kind) => takes.has(kind))) continue;
    if (takes.has("string") && column.exactText) {
      exactText.add(column.name);
      continue;
    }
    const convert = conversion(column, takes);
    if (!convert) throw fail("");
    conversions.set(column.name, convert);
  }
  return {
    exactText,
    read(value, id) {
      for (const [name, convert] of conversions) {
        const raw = value[name];
        if (raw !== null && raw !== undefined) value[name] = convert(raw);
      }
      const parsed = v.safeParse(schema, value);
      if (parsed.success) return parsed.output;
      const issue = parsed.issues[0];
      const column = issue.path?.map((item) => String(item.key)).join(".") ?? "?";
      throw new SockSyncError(
        ErrorCode.Other,
        `table "${table}", row ${id}: column "${column}" fails the schema (expected ${issue.expected}, got ${
          typeName(issue.input)
        })`,
      );
    },
  };
}

// The one exact conversion from what a column gives to what the schema takes, if any.
function conversion(
  column: ColumnType,
  takes: ReadonlySet<string>,
): ((value: unknown) => unknown) | undefined {
  const has = (kind: JsKind) => column.gives.includes(kind);
  if (takes.has("boolean") && has("number") && column.intBool) {
    // Only 0 and 1: anything else stays as it is and fails the schema.
    return (n) => n === 0 || n === 1 ? n === 1 : n;
  }
  if (takes.has("bigint") && has("number")) return (n) => BigInt(n as number | string | bigint);
  if (takes.has("date") && (has("string") || has("number"))) {
    return (t) => new Date(typeof t === "string" && /^\d+$/.test(t) ? Number(t) : isoOf(t));
  }
  if (takes.has("json") && has("string")) {
    return (t) => typeof t === "string" ? JSON.parse(t) : t;
  }
  return undefined;
}

// PostgreSQL's timestamp text ("2024-05-01 10:00:00.5+02") as ISO 8601, which every runtime parses.
function isoOf(value: unknown): string | number {
  if (typeof value !== "string") return value as number;
  return value.replace(/^(\d{4}-\d\d-\d\d) (\d)/, "$1T$2").replace(/([+-]\d\d)$/, "$1:00");
}

/** The kinds a schema accepts as input ("any" for anything). */
function kindsOf(schema: v.GenericSchema): Set<string> {
  const node = schema as unknown as {
    type: string;
    wrapped?: v.GenericSchema;
    pipe?: v.GenericSchema[];
    options?: unknown[];
    literal?: unknown;
  };
  switch (node.type) {
    case "string":
    case "number":
    case "bigint":
    case "boolean":
    case "date":
    case "null":
      return new Set([node.type]);
    case "undefined":
      return new Set();
    case "picklist":
      return new Set((node.options ?? []).map((option) => typeof option));
    case "literal":
      return new Set([node.literal === null ? "null" : typeof node.literal]);
    case "nullable":
    case "nullish":
      return new Set([...kindsOf(node.wrapped!), "null"]);
    case "optional":
    case "non_optional":
    case "non_nullable":
    case "non_nullish":
    case "exact_optional":
      return kindsOf(node.wrapped!);
    case "union":
    case "variant":
      return new Set(
        (node.options as v.GenericSchema[]).flatMap((option) => [...kindsOf(option)]),
      );
    case "object":
    case "loose_object":
    case "strict_object":
    case "object_with_rest":
    case "array":
    case "tuple":
    case "record":
      return new Set(["json"]);
    default:
      // A pipe's input is its first schema's; anything else (any, unknown, custom…) takes all.
      return node.pipe ? kindsOf(node.pipe[0]) : new Set(["any"]);
  }
}

function describe(kinds: ReadonlySet<string>): string {
  const names = [...kinds].map((kind) => kind === "json" ? "object/array" : kind);
  return names.length === 0 ? "undefined" : names.join(" | ");
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Date) return "Date";
  return typeof value;
}
