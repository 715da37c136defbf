/**
 * The statements of one live table query and the helpers that turn its rows into items:
 * built once per query from its table, key, ORDER BY, value columns and WHERE.
 *
 * @module
 */
import { quoteIdent, type SqlValue } from "./sql_value.ts";
import { compareSqlValues } from "./rank_index.ts";
import { keysetSql, orderSql, type OrderTerm } from "./where.ts";

/** The statements of a query, by name. */
export type QueryStatement = "scan" | "scanNext" | "from" | "page" | "count" | "get" | "before";

/**
 * The SQL of each statement of a query. Every statement takes the WHERE's parameters
 * first; `scanNext` and `from` then take {@linkcode keysetValues} of a start row.
 */
export function queryStatements(query: {
  table: string;
  key: string;
  order: OrderTerm[];
  columns: string[];
  where: string;
}): Record<QueryStatement, string> {
  const { order } = query;
  const t = quoteIdent(query.table);
  const k = quoteIdent(query.key);
  const where = `${k} IS NOT NULL AND (${query.where})`;
  const sortCols = order.map((o) => quoteIdent(o.column)).join(", ");
  const valueCols = [query.key, ...query.columns].map(quoteIdent).join(", ");
  const by = orderSql(order);
  return {
    scan: `SELECT ${sortCols} FROM ${t} WHERE ${where} ${by} LIMIT ?`,
    scanNext: `SELECT ${sortCols} FROM ${t} WHERE ${where} AND ${
      keysetSql(order, false)
    } ${by} LIMIT ?`,
    from: `SELECT ${valueCols} FROM ${t} WHERE ${where} AND ${
      keysetSql(order, true)
    } ${by} LIMIT ?`,
    page: `SELECT ${valueCols} FROM ${t} WHERE ${where} ${by} LIMIT ? OFFSET ?`,
    count: `SELECT COUNT(*) AS n FROM ${t} WHERE ${where}`,
    get: `SELECT ${sortCols}, ${valueCols} FROM ${t} WHERE ${where} AND ${k} = ?`,
    before: `SELECT COUNT(*) AS n FROM ${t} WHERE ${where} AND NOT (${keysetSql(order, true)})`,
  };
}

/**
 * The ORDER BY of a query: the terms up to the key, with the key appended (ascending)
 * when they do not name it, so every row has a distinct place.
 */
export function completeOrder(orderBy: OrderTerm[] | undefined, key: string): OrderTerm[] {
  const order = (orderBy ?? []).map((t) => ({ column: t.column, desc: !!t.desc }));
  if (!order.some((t) => t.column === key)) order.push({ column: key, desc: false });
  order.splice(order.findIndex((t) => t.column === key) + 1);
  return order;
}

/**
 * Compares two ORDER BY value lists in the order's directions.
 */
export function compareKeys(order: OrderTerm[], a: SqlValue[], b: SqlValue[]): number {
  for (let i = 0; i < order.length; i++) {
    const c = compareSqlValues(a[i], b[i]);
    if (c !== 0) return order[i].desc ? -c : c;
  }
  return 0;
}

/**
 * An item value from a row: an object of the value columns, as JSON can carry them
 * (integers beyond 2^53 as strings, blobs as base64).
 */
export function rowValue(
  row: Record<string, SqlValue>,
  columns: string[],
): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const column of columns) value[column] = toJson(row[column]);
  return value;
}

function toJson(value: SqlValue): unknown {
  if (typeof value === "bigint") {
    return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  }
  if (value instanceof Uint8Array) return btoa(String.fromCharCode(...value));
  return value;
}
