/**
 * The docs cannot rot silently: every relative link of README.md and
 * docs/*.md points at a file that exists (and, with a `#fragment`, at a
 * heading of it), every path of the repository they mention (`src/…`,
 * `stores/…`, `tests/…`, …) exists, every page of docs/ is linked from the
 * README, long pages open with a table of contents, and the README stays a
 * short page that starts with the two commands.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pages = [
  "README.md",
  ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) =>
    `docs/${f}`
  ),
];
const text = (page: string) => readFileSync(join(root, page), "utf8");

/** The text without its fenced code blocks (a `# comment` there is no heading). */
const prose = (markdown: string) => markdown.replace(/^```[\s\S]*?^```$/gm, "");

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes. */
const slug = (heading: string) =>
  heading.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replaceAll(" ", "-");

/** The anchors of a page's headings, numbered as GitHub numbers repeated ones. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const m of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(m[1].trim());
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n === 0 ? base : `${base}-${n}`);
  }
  return found;
}

/** The targets of a page's Markdown links and images, outside code blocks. */
const links = (markdown: string) =>
  [...prose(markdown).matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]);

test("docs: every relative link points at a file and a heading that exist", () => {
  const broken: string[] = [];
  for (const page of pages) {
    for (const target of links(text(page))) {
      if (/^[a-z]+:/i.test(target)) continue; // http:, https:, mailto:
      const [path, fragment] = target.split("#");
      const file = path === "" ? join(root, page) : resolve(root, dirname(page), path);
      if (!existsSync(file)) {
        broken.push(`${page}: ${target} (no ${relative(root, file)})`);
        continue;
      }
      if (fragment !== undefined && file.endsWith(".md")) {
        if (!anchors(readFileSync(file, "utf8")).has(fragment)) {
          broken.push(`${page}: ${target} (no heading #${fragment} in ${relative(root, file)})`);
        }
      }
    }
  }
  assert.deepEqual(broken, []);
});

/** Repository paths a page mentions: `src/peer/peer.ts`, `tests/`, `bench/scale.ts`… */
function repoPaths(markdown: string): string[] {
  const re = /(?<![\w./@-])((?:src|stores|tests|examples|bench|demo|scripts|docs)\/[\w./-]*[\w/])/g;
  return [...markdown.matchAll(re)].map((m) => m[1]);
}

test("docs: every repository path they mention exists", () => {
  const missing: string[] = [];
  let count = 0;
  for (const page of pages) {
    for (const path of repoPaths(text(page))) {
      count++;
      if (!existsSync(join(root, path))) missing.push(`${page}: ${path}`);
    }
  }
  assert.ok(count >= 20, `only ${count} paths found: is the pattern right?`);
  assert.deepEqual(missing, [], "a file moved: update the docs (or restore the file)");
});

test("docs: every page of docs/ is linked from the README", () => {
  const linked = new Set(links(text("README.md")).map((t) => t.split("#")[0]));
  const unlinked = pages.filter((p) => p !== "README.md" && !linked.has(p));
  assert.deepEqual(unlinked, []);
});

test("docs: a long page opens with links to each of its sections", () => {
  const missing: string[] = [];
  for (const page of pages) {
    const markdown = text(page);
    if (markdown.split("\n").length <= 100) continue;
    const sections = [...prose(markdown).matchAll(/^## (.+)$/gm)]
      .map((m) => slug(m[1].trim()))
      .filter((s) => s !== "contents");
    const targets = new Set(
      links(markdown).filter((t) => t.startsWith("#")).map((t) => t.slice(1)),
    );
    for (const s of sections) if (!targets.has(s)) missing.push(`${page}: #${s}`);
  }
  assert.deepEqual(missing, []);
});

test("docs: the README is at most 400 lines and starts with the two commands", () => {
  const lines = text("README.md").split("\n");
  assert.ok(lines.length <= 400, `README.md has ${lines.length} lines`);
  const top = lines.slice(0, 40).join("\n");
  assert.match(top, /npm ci && npm run server/);
  assert.match(top, /npm ci && npm test/);
});
