/**
 * One short message out of valibot's issues, for error 6: which keys are
 * missing, which are unexpected, and for a wrong value what was expected
 * (type, allowed values, bounds) and the type that came. Never more of the
 * value than its type: the message goes back on the wire and into logs.
 *
 * @module
 */
import type * as v from "valibot";

// Bounds the message, whatever the schema and the input.
const MAX_PARTS = 5;
const MAX_EXPECTED = 120;
const MAX_KEY = 64;

/**
 * The message for a value that failed its schema: `invalid <what>: ` then
 * `missing a, b`, `unexpected c` and `path: expected …, got <type>` parts.
 * `unexpected` lists the top-level keys of `input` that an object schema does
 * not declare (`declared`), when there are any.
 */
export function invalidMessage(
  what: string,
  issues: readonly v.BaseIssue<unknown>[],
  input: unknown,
  declared?: readonly string[],
): string {
  const missing: string[] = [];
  const extra = unexpectedKeys(input, declared);
  const wrong: string[] = [];
  for (const issue of issues) {
    const path = issue.path?.map((item) => shortKey(String(item.key))).join(".");
    if (isMissingKey(issue)) missing.push(path ?? "?");
    else if (issue.type === "strict_object" && issue.expected === "never") extra.push(path ?? "?");
    else wrong.push(`${path ? `${path}: ` : ""}expected ${expected(issue)}, got ${typeOf(issue)}`);
  }
  const parts: string[] = [];
  if (missing.length > 0) parts.push(`missing ${limited(missing).join(", ")}`);
  if (extra.length > 0) parts.push(`unexpected ${limited(extra).join(", ")}`);
  parts.push(...wrong);
  const shown = limited(parts);
  return `invalid ${what}: ${shown.join("; ")}`;
}

/**
 * The top-level keys of `input` that `declared` does not hold (none when
 * `declared` or an object `input` is absent).
 */
export function unexpectedKeys(input: unknown, declared?: readonly string[]): string[] {
  if (!declared || typeof input !== "object" || input === null || Array.isArray(input)) return [];
  return Object.keys(input).filter((key) => !declared.includes(key)).map(shortKey);
}

/**
 * The keys a plain `v.object` schema declares (held strict: a key it does
 * not declare is unexpected), or `undefined` for any other schema.
 */
export function declaredKeys(schema: unknown): string[] | undefined {
  const object = schema as { type?: string; entries?: Record<string, unknown> };
  return object.type === "object" && object.entries ? Object.keys(object.entries) : undefined;
}

// An object schema's issue about a key that is absent (JSON has no `undefined`).
function isMissingKey(issue: v.BaseIssue<unknown>): boolean {
  return issue.kind === "schema" && issue.input === undefined &&
    (issue.type === "object" || issue.type === "strict_object" || issue.type === "loose_object");
}

const VALIDATION_LABELS: Record<string, string> = {
  min_length: "length ",
  max_length: "length ",
  length: "length ",
  min_value: "value ",
  max_value: "value ",
  value: "value ",
  min_size: "size ",
  max_size: "size ",
  regex: "format ",
};

function expected(issue: v.BaseIssue<unknown>): string {
  const label = issue.kind === "validation"
    ? VALIDATION_LABELS[issue.type] ?? `${issue.type} `
    : "";
  const text = issue.expected ?? issue.type;
  const bare = text.startsWith("(") && text.endsWith(")") ? text.slice(1, -1) : text;
  const full = `${label}${bare}`;
  return full.length > MAX_EXPECTED ? `${full.slice(0, MAX_EXPECTED)}…` : full;
}

function typeOf(issue: v.BaseIssue<unknown>): string {
  const input = issue.input;
  if (input === null) return "null";
  if (Array.isArray(input)) return "array";
  return typeof input;
}

function shortKey(key: string): string {
  return key.length > MAX_KEY ? `${key.slice(0, MAX_KEY)}…` : key;
}

function limited(items: string[]): string[] {
  return items.length > MAX_PARTS ? [...items.slice(0, MAX_PARTS), "…"] : items;
}
