/**
 * The SQL of PostgreSQL table bindings: the statements of one live query (WHERE and
 * keyset predicates from `sqlite_where.ts`, numbered `$n` and with text compared in
 * the "C" collation so the database sorts exactly as the rank index does), the trigger
 * that announces every row change with `pg_notify`, and the conversion of a row's
 * columns, always carried as text, to JSON values.
 *
 * @module
 */
import { quoteIdent } from "../driver.ts";
import type { SqlValue } from "../../table/sql_value.ts";
import { type CompiledWhere, keysetSql, orderSql, type OrderTerm } from "../../table/where.ts";

/** How a column's text becomes a value. */
export type PgKind = "int" | "bigint" | "float" | "bool" | "json" | "text" | "other";

/**
 * The kind of a column from its `format_type`.
 */
export function kindOf(type: string): PgKind {
  if (type === "smallint" || type === "integer") return "int";
  if (type === "bigint") return "bigint";
  if (type === "real" || type === "double precision" || type.startsWith("numeric")) return "float";
  if (type === "boolean") return "bool";
  if (type === "json" || type === "jsonb") return "json";
  if (type === "text" || type.startsWith("character")) return "text";
  return "other";
}

/**
 * A column's text (as `col::text` gives it) as a value: numbers as numbers (bigints
 * beyond 2^53 as `bigint`), booleans, JSON parsed, anything else as text.
 */
export function fromText(text: unknown, kind: PgKind): SqlValue | boolean | unknown {
  if (text === null || text === undefined) return null;
  const s = String(text);
  switch (kind) {
    case "int":
    case "float":
      return Number(s);
    case "bigint": {
      const n = Number(s);
      return Number.isSafeInteger(n) ? n : BigInt(s);
    }
    case "bool":
      return s === "t" || s === "true";
    case "json":
      return JSON.parse(s);
    default:
      return s;
  }
}

/** The statements of a query, by name. */
export type PgQueryStatement = "scan" | "scanNext" | "from" | "page" | "count" | "get" | "before";

/**
 * The SQL of each statement of a query. Every statement takes the WHERE's parameters
 * first; `scanNext`, `from` and `before` then take `keysetValues` of a start row; `get`
 * takes the key; `scan`, `scanNext`, `from` and `page` end with a limit (and offset).
 */
export function pgQueryStatements(query: {
  /** The table, quoted (and qualified). */
  table: string;
  key: string;
  order: OrderTerm[];
  columns: string[];
  where: CompiledWhere;
  /** The text columns: compared in the "C" collation. */
  text: Set<string>;
}): Record<PgQueryStatement, string> {
  const { order, table } = query;
  const first = query.where.names.length;
  const counter = () => {
    let n = first;
    return () => `$${++n}`;
  };
  // Qualified: a bare name in ORDER BY would mean the output column (the text copy).
  const expr = (c: string) => {
    const column = `${table}.${quoteIdent(c)}`;
    return query.text.has(c) ? `${column} COLLATE "C"` : column;
  };
  const k = quoteIdent(query.key);
  const where = `${k} IS NOT NULL AND (${query.where.sql === "1" ? "TRUE" : query.where.sql})`;
  const asText = (c: string) => `${quoteIdent(c)}::text AS ${quoteIdent(c)}`;
  const sortCols = order.map((o) => asText(o.column)).join(", ");
  const names = [...new Set([query.key, ...order.map((o) => o.column), ...query.columns])];
  const valueCols = names.map(asText).join(", ");
  const by = orderSql(order, expr);
  const keyset = (inclusive: boolean, mark: () => string) =>
    keysetSql(order, inclusive, mark, expr);
  const limited = (sql: string, mark: () => string) => `${sql} LIMIT ${mark()}`;
  let m = counter();
  const scanNext = limited(
    `SELECT ${sortCols} FROM ${table} WHERE ${where} AND ${keyset(false, m)} ${by}`,
    m,
  );
  m = counter();
  const from = limited(
    `SELECT ${valueCols} FROM ${table} WHERE ${where} AND ${keyset(true, m)} ${by}`,
    m,
  );
  m = counter();
  const page = `SELECT ${valueCols} FROM ${table} WHERE ${where} ${by} LIMIT ${m()} OFFSET ${m()}`;
  m = counter();
  const before = `SELECT COUNT(*) AS n FROM ${table} WHERE ${where} AND NOT (${keyset(true, m)})`;
  return {
    scan: limited(`SELECT ${sortCols} FROM ${table} WHERE ${where} ${by}`, counter()),
    scanNext,
    from,
    page,
    count: `SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`,
    get: `SELECT ${valueCols} FROM ${table} WHERE ${where} AND ${k} = $${first + 1}`,
    before,
  };
}

/**
 * The statements that install the change trigger of a table (run in one transaction):
 * after each row change it sends `{"t": oid, "o": "i"|"u"|"d", "k": key, "r": row}` on
 * `channel`, the row's columns as text, and without `r` when the payload would not fit
 * in NOTIFY's 8,000 bytes (the binding reads the row back then). An update that changes
 * the key also announces the old key's deletion.
 */
export function triggerStatements(options: {
  schema: string;
  table: string;
  oid: number;
  key: string;
  columns: string[];
  channel: string;
}): string[] {
  const { oid } = options;
  const fn = `${quoteIdent(options.schema)}.${quoteIdent(`socksync_notify_${oid}`)}`;
  const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const channel = lit(options.channel);
  const k = quoteIdent(options.key);
  // json_build_object takes at most 100 arguments: wider rows are always read back.
  const row = options.columns.length <= 50
    ? `json_build_object(${
      options.columns.map((c) => `${lit(c)}, NEW.${quoteIdent(c)}::text`).join(", ")
    })`
    : "NULL::json";
  return [
    `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $socksync$
DECLARE p text;
BEGIN
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.${k} IS DISTINCT FROM NEW.${k}) THEN
    PERFORM pg_notify(${channel}, json_build_object('t', ${oid}, 'o', 'd', 'k', OLD.${k}::text)::text);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    p := json_build_object('t', ${oid}, 'o', lower(left(TG_OP, 1)), 'k', NEW.${k}::text,
      'r', ${row})::text;
    IF octet_length(p) > 7900 THEN
      p := json_build_object('t', ${oid}, 'o', lower(left(TG_OP, 1)), 'k', NEW.${k}::text)::text;
    END IF;
    PERFORM pg_notify(${channel}, p);
  END IF;
  RETURN NULL;
END $socksync$`,
    `CREATE OR REPLACE TRIGGER socksync_notify AFTER INSERT OR UPDATE OR DELETE ON ${
      quoteIdent(options.schema)
    }.${quoteIdent(options.table)} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
  ];
}

/**
 * A NOTIFY payload, checked; `undefined` when it is not one of ours or is malformed.
 */
export function parsePayload(
  text: string,
): { t: number; o: string; k: string; r: Record<string, string | null> | undefined } | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof data !== "object" || data === null) return undefined;
  const { t, o, k, r } = data as Record<string, unknown>;
  if (typeof t !== "number" || typeof k !== "string" || !["i", "u", "d"].includes(String(o))) {
    return undefined;
  }
  if (r !== undefined && r !== null && typeof r !== "object") return undefined;
  return { t, o: String(o), k, r: (r ?? undefined) as Record<string, string | null> | undefined };
}
