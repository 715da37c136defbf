/**
 * The names an entry point exports, read from its source: `export { a, type B
 * as C } from "…"`, `export type { … }` and the declarations `export class`,
 * `function`, `const`, `let`, `enum`, `interface`, `type`. Types are listed
 * as `type Name`. Runtime-neutral (plain text), so the same check runs on
 * Node, Deno and Bun without `deno doc`.
 *
 * `export *` is refused: an entry point names what it exports, so a new
 * export is a visible change.
 */

/** The source without comments (JSDoc examples hold `export` lines); strings kept. */
function stripComments(src: string): string {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    if (c === "/" && n === "*") {
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? src.length : end + 2;
      out += " ";
    } else if (c === "/" && n === "/") {
      const end = src.indexOf("\n", i);
      i = end < 0 ? src.length : end;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const LIST = /^export\s+(type\s+)?\{([^}]*)\}/gm;
const DECLARATION =
  /^export\s+(?:declare\s+)?(?:default\s+)?(?:abstract\s+)?(async\s+function\*?|function\*?|class|const|let|var|enum|interface|type|namespace)\s+([A-Za-z_$][\w$]*)/gm;
const STAR = /^export\s+\*/m;
const DEFAULT = /^export\s+default\b/m;

/**
 * The sorted export names of a module's source, types as `type Name`.
 *
 * @example
 * ```ts
 * import { exportNames } from "./export_names.ts";
 * exportNames('export { a, type B as C } from "./x.ts";\nexport class D {}');
 * // ["D", "a", "type C"]
 * ```
 */
export function exportNames(source: string): string[] {
  const code = stripComments(source);
  if (STAR.test(code)) throw new Error("`export *` hides what an entry point exports");
  if (DEFAULT.test(code)) throw new Error("an entry point has no default export");
  const names: string[] = [];
  for (const [, allTypes, list] of code.matchAll(LIST)) {
    for (const raw of list.split(",")) {
      const spec = raw.trim();
      if (!spec) continue;
      const m = /^(type\s+)?([\w$]+)(?:\s+as\s+([\w$]+))?$/.exec(spec);
      if (!m) throw new Error(`cannot read the export specifier "${spec}"`);
      const name = m[3] ?? m[2];
      names.push(allTypes || m[1] ? `type ${name}` : name);
    }
  }
  const functions = new Set<string>();
  for (const [, kind, name] of code.matchAll(DECLARATION)) {
    // A function's overloads are one export.
    if (kind.includes("function")) {
      if (functions.has(name)) continue;
      functions.add(name);
    }
    names.push(kind === "interface" || kind === "type" ? `type ${name}` : name);
  }
  const bare = (n: string) => n.replace(/^type /, "");
  const sorted = names.sort((a, b) => bare(a) < bare(b) ? -1 : bare(a) > bare(b) ? 1 : 0);
  const dup = sorted.find((n, i) => i > 0 && bare(sorted[i - 1]) === bare(n));
  if (dup) throw new Error(`"${bare(dup)}" is exported twice`);
  return sorted;
}
