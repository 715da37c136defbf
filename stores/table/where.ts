/**
 * The SQL pieces of a table binding: a WHERE with named placeholders compiled to
 * positional ones (values are always bound, never spliced), the `column = :param`
 * conjuncts that route a changed row to the few queries it can touch, and keyset
 * predicates for an ORDER BY with mixed directions.
 *
 * @module
 */
import { ErrorCode, SockSyncError } from "../../src/errors.ts";
import { quoteIdent, type SqlValue } from "./sql_value.ts";

/**
 * A compiled WHERE.
 */
export interface CompiledWhere {
  /** The WHERE with every placeholder replaced by `?`. */
  sql: string;
  /** The parameter name of each `?`, in order. */
  names: string[];
  /** Top-level conjuncts `column = :param` (each is necessary for a row to match). */
  equalities: { column: string; param: string }[];
  /** Whether anything besides {@linkcode equalities} must hold (so SQL must decide). */
  rest: boolean;
}

// The token alternatives as plain strings (a regex literal full of quotes reads, to a
// simple scanner, as unterminated strings).
const TOKEN = new RegExp(
  [
    "'(?:[^']|'')*'",
    '"(?:[^"]|"")*"',
    "`(?:[^`]|``)*`",
    "\\[[^\\]]*\\]",
    "--[^\\n]*",
    "\\/\\*[\\s\\S]*?\\*\\/",
    "::",
    "[:@$][A-Za-z_][A-Za-z0-9_]*",
    "\\?[0-9]*",
    "[A-Za-z_][A-Za-z0-9_]*",
    "[()]",
    "\\s+",
    ".",
  ].join("|"),
  "g",
);

/** Splits SQL into tokens we care about: quoted runs, comments, words, parens, placeholders. */
function* tokens(sql: string): Generator<{ kind: string; text: string; at: number }> {
  for (const match of sql.matchAll(TOKEN)) {
    const text = match[0];
    const c = text[0];
    const kind = c === "'" || c === '"' || c === "`" || c === "["
      ? "quoted"
      : text.startsWith("--") || text.startsWith("/*")
      ? "comment"
      : (c === ":" && text !== "::") || c === "@" || c === "$"
      ? "param"
      : c === "?"
      ? "positional"
      : /[A-Za-z_]/.test(c)
      ? "word"
      : text;
    yield { kind, text, at: match.index! };
  }
}

const EQUALITY =
  /^\s*(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_]*))\s*==?\s*[:@$]([A-Za-z_][A-Za-z0-9_]*)\s*$/;
const EQUALITY_REVERSED =
  /^\s*[:@$]([A-Za-z_][A-Za-z0-9_]*)\s*==?\s*(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_]*))\s*$/;
// Top-level words that make splitting on AND unsound.
const UNSPLITTABLE = new Set(["OR", "BETWEEN", "CASE", "COLLATE", "ESCAPE"]);

/**
 * Compiles a WHERE (empty for all rows). `columns` are the table's columns: an equality
 * only routes when its column is one of them. Positional `?` placeholders are refused.
 * `mark` makes each placeholder (default `?`; PostgreSQL passes one counting `$1`, `$2`…).
 */
export function compileWhere(
  where: string | undefined,
  columns: string[],
  mark: () => string = () => "?",
): CompiledWhere {
  const text = where?.trim() ?? "";
  if (text === "") return { sql: "1", names: [], equalities: [], rest: false };
  let sql = "";
  const names: string[] = [];
  const cuts: number[] = [];
  let depth = 0;
  let splittable = true;
  for (const token of tokens(text)) {
    if (token.kind === "positional") {
      throw new TypeError("where: use named placeholders (:name), not ?");
    }
    if (token.kind === "param") {
      names.push(token.text.slice(1));
      sql += mark();
      continue;
    }
    sql += token.text;
    if (token.text === "(") depth++;
    else if (token.text === ")") depth--;
    else if (token.kind === "word" && depth === 0) {
      const word = token.text.toUpperCase();
      if (word === "AND") cuts.push(token.at);
      if (UNSPLITTABLE.has(word)) splittable = false;
    }
  }
  const equalities: CompiledWhere["equalities"] = [];
  let rest = !splittable;
  if (splittable) {
    const byLower = new Map(columns.map((c) => [c.toLowerCase(), c]));
    let from = 0;
    for (const cut of [...cuts, text.length]) {
      const part = text.slice(from, cut);
      from = cut + 3;
      const match = EQUALITY.exec(part);
      const reversed = match ? null : EQUALITY_REVERSED.exec(part);
      const name = match
        ? (match[1]?.replaceAll('""', '"') ?? match[2])
        : reversed
        ? (reversed[2]?.replaceAll('""', '"') ?? reversed[3])
        : undefined;
      const column = name === undefined ? undefined : byLower.get(name.toLowerCase());
      if (column === undefined) rest = true;
      else equalities.push({ column, param: (match ?? reversed)![match ? 3 : 1] });
    }
  }
  return { sql, names, equalities, rest };
}

/**
 * The values for a compiled WHERE's placeholders; a missing or unbindable parameter
 * throws code 6 naming it.
 */
export function bindWhere(where: CompiledWhere, params: Record<string, unknown>): SqlValue[] {
  return where.names.map((name) => toSql(name, params[name]));
}

function toSql(name: string, value: unknown): SqlValue {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (
    typeof value === "string" || typeof value === "bigint" || value === null ||
    value instanceof Uint8Array || (typeof value === "number" && Number.isFinite(value))
  ) {
    return value;
  }
  throw new SockSyncError(
    ErrorCode.InvalidArguments,
    value === undefined ? `missing parameter ${name}` : `parameter ${name} cannot be bound`,
  );
}

/** One ORDER BY term. */
export interface OrderTerm {
  /** The column. */
  column: string;
  /** Descending instead of ascending. */
  desc?: boolean;
}

/**
 * `ORDER BY …` for these terms.
 */
export function orderSql(
  order: OrderTerm[],
  expr: (column: string) => string = quoteIdent,
): string {
  return "ORDER BY " +
    order.map((t) => `${expr(t.column)}${t.desc ? " DESC" : ""}`).join(", ");
}

/**
 * A predicate true for the rows at or after (`inclusive`) or strictly after a start row
 * in this order; it takes one `?` per term, in term order. Every term is NOT NULL.
 * `mark` makes each placeholder and `expr` each column reference (PostgreSQL adds a
 * collation to text columns).
 */
export function keysetSql(
  order: OrderTerm[],
  inclusive: boolean,
  mark: () => string = () => "?",
  expr: (column: string) => string = quoteIdent,
): string {
  const cols = order.map((t) => expr(t.column));
  const after = (t: OrderTerm) => (t.desc ? "<" : ">");
  if (order.every((t) => !!t.desc === !!order[0].desc)) {
    const op = after(order[0]) + (inclusive ? "=" : "");
    return order.length === 1
      ? `${cols[0]} ${op} ${mark()}`
      : `(${cols.join(", ")}) ${op} (${cols.map(() => mark()).join(", ")})`;
  }
  // Mixed directions: a OP1 x OR (a = x AND (b OP2 y OR (b = y AND …))), one ? per
  // use, so callers bind the start values through keysetValues().
  // Built from the innermost term out, but placeholders are numbered in reading order
  // (as keysetValues() lists the values), so the marks are made in that order.
  const lead = `${cols[0]} ${after(order[0])}= ${mark()}`;
  const marks: string[][] = order.map((_, i) =>
    i === order.length - 1 ? [mark()] : [mark(), mark()]
  );
  let sql = "";
  for (let i = order.length - 1; i >= 0; i--) {
    const op = after(order[i]) + (i === order.length - 1 && inclusive ? "=" : "");
    sql = i === order.length - 1
      ? `${cols[i]} ${op} ${marks[i][0]}`
      : `(${cols[i]} ${op} ${marks[i][0]} OR (${cols[i]} = ${marks[i][1]} AND ${sql}))`;
  }
  // The leading range lets the database seek an index on the first column.
  return `${lead} AND ${sql}`;
}

/**
 * The values to bind to {@linkcode keysetSql}'s placeholders for a start row's key.
 */
export function keysetValues(order: OrderTerm[], key: SqlValue[]): SqlValue[] {
  if (order.every((t) => !!t.desc === !!order[0].desc)) return key;
  const values: SqlValue[] = [key[0]];
  for (let i = 0; i < order.length - 1; i++) values.push(key[i], key[i]);
  values.push(key[order.length - 1]);
  return values;
}
