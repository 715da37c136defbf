/**
 * What every SQL backend's table binding shares about SQL itself: the values
 * a driver binds and gives back, and quoted identifiers.
 *
 * @module
 */

/** A value an SQL driver takes as a parameter or gives back (SQLite's set; PostgreSQL's as text). */
export type SqlValue = string | number | bigint | null | Uint8Array;

/**
 * Quotes an SQL identifier (standard double quotes, as SQLite and PostgreSQL take them).
 */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
