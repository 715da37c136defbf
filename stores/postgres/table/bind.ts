/**
 * Binding a live query to a PostgreSQL table: the table is found (a clear error names
 * it when it is missing), its change trigger installed once, and the query's columns,
 * ORDER BY and WHERE checked and compiled to statements.
 *
 * @module
 */
import { ErrorCode, SockSyncError } from "../../../src/errors.ts";
import { quoteIdent } from "../driver.ts";
import type { PgTable, PostgresTables } from "./db.ts";
import { routeKey } from "./db.ts";
import {
  fromText,
  kindOf,
  type PgKind,
  type PgQueryStatement,
  pgQueryStatements,
  triggerStatements,
} from "./sql.ts";
import type { SqlValue } from "../../table/sql_value.ts";
import { completeOrder } from "../../table/sql.ts";
import { bindWhere, compileWhere, type OrderTerm } from "../../table/where.ts";
import {
  bindRowSchema,
  type JsKind,
  type RowReader,
  type RowSchema,
  schemaColumns,
} from "../../table/row_schema.ts";

/**
 * Options for `postgresTable` (`postgres_table.ts`).
 *
 * @example
 * ```ts
 * import type { PostgresTableOptions } from "./bind.ts";
 * import { openPostgresTables } from "./db.ts";
 * const options: PostgresTableOptions = {
 *   db: await openPostgresTables({ url: "postgres://postgres@127.0.0.1:5432/postgres" }),
 *   table: "messages",
 *   key: "id",
 *   orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
 *   where: "room = :room",
 *   params: { room: "general" },
 *   columns: ["room", "author", "text", "created_at"],
 * };
 * await options.db.close();
 * ```
 */
export interface PostgresTableOptions {
  /** The database (`openPostgresTables`); its listening connection is shared by every binding. */
  db: PostgresTables;
  /** The table, optionally `schema.table`. */
  table: string;
  /** The key column (unique; the item id is its value as text). */
  key: string;
  /** The order (NOT NULL text, number or boolean columns); the key breaks ties. */
  orderBy?: OrderTerm[];
  /** A WHERE with named placeholders (`room = :room`); values come from `params`. */
  where?: string;
  /** The placeholders' values. */
  params?: Record<string, unknown>;
  /**
   * The columns that make an item's value, an object with these keys: the
   * untyped form (the item type is then whatever the caller asserts). Give
   * `schema` instead to have the type inferred and checked.
   */
  columns?: string[];
  /**
   * The row's valibot object schema (as `hub.list` takes): its keys are the
   * value columns, its output the item type. Each column's SQL type is checked
   * against it at bind time and every row read is parsed by it.
   */
  schema?: RowSchema;
}

/**
 * A bound query.
 *
 * @internal
 */
export interface BoundQuery {
  table: PgTable;
  order: OrderTerm[];
  sql: Record<PgQueryStatement, string>;
  /** The WHERE's values, as statement parameters. */
  params: (string | null)[];
  route: { columns: string[]; key: string } | undefined;
  /** The value columns. */
  columns: string[];
  /** How rows are read for the schema, when there is one. */
  reader: RowReader | undefined;
}

const SORTABLE = new Set<PgKind>(["text", "int", "bigint", "float", "bool"]);

function splitName(name: string): string {
  const dot = name.indexOf(".");
  return dot < 0
    ? quoteIdent(name)
    : `${quoteIdent(name.slice(0, dot))}.${quoteIdent(name.slice(dot + 1))}`;
}

/** Finds the table and installs its trigger (in one transaction, under a lock). */
function install(name: string, key: string) {
  return async (db: PostgresTables): Promise<PgTable> => {
    const quoted = splitName(name);
    const [found] = await db.sql.unsafe(
      `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS rel
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.oid = to_regclass($1)`,
      [quoted],
    );
    if (!found) {
      throw new SockSyncError(ErrorCode.Other, `table "${name}" does not exist in the database`);
    }
    const oid = Number(found.oid);
    const kinds = new Map<string, PgKind>();
    const types = new Map<string, string>();
    const notNull = new Set<string>();
    await readColumns(db, oid, { kinds, types, notNull });
    if (!kinds.has(key)) {
      throw new SockSyncError(ErrorCode.Other, `table "${name}" has no column "${key}"`);
    }
    await db.sql.begin("", async (tx) => {
      await tx.unsafe("SELECT pg_advisory_xact_lock(hashtext($1))", [`socksync_table:${oid}`]);
      const statements = triggerStatements({
        schema: String(found.schema),
        table: String(found.rel),
        oid,
        key,
        columns: [...kinds.keys()],
        channel: db.channel,
      });
      for (const statement of statements) await tx.unsafe(statement);
    });
    const table: PgTable & { types: Map<string, string>; notNull: Set<string> } = {
      oid,
      name,
      quoted: `${quoteIdent(String(found.schema))}.${quoteIdent(String(found.rel))}`,
      key,
      kinds,
      routes: new Map(),
      unrouted: new Set(),
      members: new Map(),
      types,
      notNull,
    };
    return table;
  };
}

type Columns = { kinds: Map<string, PgKind>; types: Map<string, string>; notNull: Set<string> };

/** Reads (again) a table's columns into its maps: their kinds, types and NOT NULL. */
async function readColumns(db: PostgresTables, oid: number, into: Columns): Promise<string> {
  const rows = await db.sql.unsafe(
    `SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull
     FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped
     ORDER BY attnum`,
    [oid],
  );
  into.notNull.clear();
  for (const row of rows) {
    const column = String(row.attname);
    into.kinds.set(column, kindOf(String(row.type)));
    into.types.set(column, String(row.type));
    if (row.attnotnull) into.notNull.add(column);
  }
  return JSON.stringify(rows);
}

// What each kind's values come as, and whether their exact text can be read instead.
const GIVES: Record<PgKind, { gives: JsKind[]; exactText?: boolean }> = {
  int: { gives: ["number"], exactText: true },
  bigint: { gives: ["number", "bigint"], exactText: true },
  float: { gives: ["number"], exactText: true },
  bool: { gives: ["boolean"] },
  json: { gives: ["json", "string", "number", "boolean"] },
  text: { gives: ["string"] },
  other: { gives: ["string"] },
};

/** A sort value from a column's text (booleans as 0 and 1). */
export function sortValue(text: unknown, kind: PgKind): SqlValue {
  const value = fromText(text, kind);
  return typeof value === "boolean" ? (value ? 1 : 0) : value as SqlValue;
}

/** A statement parameter from a value. */
export function param(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** The refusal of a nullable ORDER BY column, with the statements that make it NOT NULL. */
function nullableOrderMessage(name: string, quoted: string, column: string): string {
  const c = quoteIdent(column);
  return `ORDER BY column "${column}" of "${name}" may be NULL: make it NOT NULL with ` +
    `ALTER TABLE ${quoted} ALTER COLUMN ${c} SET NOT NULL ` +
    `(after UPDATE ${quoted} SET ${c} = … WHERE ${c} IS NULL, if it holds NULLs)`;
}

/**
 * Binds a query: a missing table or column, an ORDER BY column that may be NULL or
 * cannot be sorted, or a missing parameter throws a `SockSyncError` naming it.
 */
export async function bindQuery(options: PostgresTableOptions): Promise<BoundQuery> {
  const { db, key } = options;
  const table = await db.table(options.table, key, install(options.table, key)) as PgTable & {
    types: Map<string, string>;
    notNull: Set<string>;
  };
  const columns = options.schema ? schemaColumns(options.schema) : [...options.columns ?? []];
  const require = (column: string) => {
    const kind = table.kinds.get(column);
    if (!kind) {
      throw new SockSyncError(
        ErrorCode.Other,
        `table "${options.table}" has no column "${column}"`,
      );
    }
    return kind;
  };
  const order = completeOrder(options.orderBy, key);
  const check = (): RowReader | undefined => {
    for (const term of order) {
      const kind = require(term.column);
      if (!SORTABLE.has(kind)) {
        throw new SockSyncError(
          ErrorCode.Other,
          `ORDER BY column "${term.column}" of "${options.table}" must be a text, number or boolean`,
        );
      }
      if (term.column !== key && !table.notNull.has(term.column)) {
        throw new SockSyncError(
          ErrorCode.Other,
          nullableOrderMessage(options.table, table.quoted, term.column),
        );
      }
    }
    for (const column of columns) require(column);
    const schema = options.schema;
    return schema
      ? bindRowSchema(
        options.table,
        schema,
        columns.map((name) => ({
          name,
          sqlType: table.types.get(name)!,
          ...GIVES[table.kinds.get(name)!],
          nullable: !table.notNull.has(name),
        })),
      )
      : undefined;
  };
  let reader: RowReader | undefined;
  try {
    reader = check();
  } catch (error) {
    // The metadata is cached per table: read it again, the table may have changed since.
    const before = JSON.stringify([...table.types, ...table.notNull]);
    await readColumns(db, table.oid, table);
    if (JSON.stringify([...table.types, ...table.notNull]) === before) throw error;
    reader = check();
  }
  let n = 0;
  const where = compileWhere(options.where, [...table.kinds.keys()], () => `$${++n}`);
  const values = bindWhere(where, options.params ?? {});
  const text = new Set([...table.kinds].filter(([, k]) => k === "text").map(([c]) => c));
  const sql = pgQueryStatements({
    table: table.quoted,
    key,
    order,
    columns,
    where,
    text,
  });
  // Routed when the equalities alone decide and JS compares their values as PostgreSQL does.
  let route: BoundQuery["route"];
  if (!where.rest && where.equalities.length > 0) {
    const texts: string[] = [];
    for (const { column, param: name } of where.equalities) {
      const type = table.types.get(column);
      const value = options.params?.[name];
      if ((type === "text" || type?.startsWith("character varying")) && typeof value === "string") {
        texts.push(value);
      } else if (
        (type === "integer" || type === "bigint" || type === "smallint") &&
        Number.isSafeInteger(value)
      ) texts.push(String(value));
      else break;
    }
    if (texts.length === where.equalities.length) {
      route = { columns: where.equalities.map((e) => e.column), key: routeKey(texts) };
    }
  }
  return { table, order, sql, params: values.map(param), route, columns, reader };
}
