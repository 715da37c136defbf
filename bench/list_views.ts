/**
 * 3. List views, in process: a 100,000-item memory list, N subscribers
 * (counting `Subscriber`s) spread evenly over its pages of 20; per change
 * (insert at index 0, delete at index 0, set in the middle) the frames sent
 * and the CPU spent, against two baselines measured side by side:
 *
 * - floor: one pre-encoded `set_count` to every subscriber (the least any
 *   implementation sends for an insert/delete: every view's total changes);
 * - ideal: a hand-written update (one page read + one encode per changed page,
 *   one frame per subscriber, `set_count` for the others; for a set, one
 *   frame to the subscribers of the page holding the item only).
 *
 *   node --import tsx bench/list_views.ts [--sizes 100,1000,10000] [--rounds 5]
 *   npx deno run -A bench/list_views.ts     npx bun bench/list_views.ts
 */
import process from "node:process";
import * as v from "valibot";
import { LocalList } from "../src/server/local_list.ts";
import type { Subscriber } from "../src/peer/socket.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import {
  args,
  commandLine,
  cpuMicros,
  fmt,
  fs,
  numbers,
  ratios,
  runtime,
  sectionHead,
  stats,
  table,
  writeSection,
} from "./lib.ts";

const opts = args();
const SIZES = numbers(opts.get("sizes"), [100, 1000, 10000]);
const ROUNDS = Number(opts.get("rounds") ?? 5);
const ITEMS = Number(opts.get("items") ?? 100_000);
const PAGE = 20;
const PAGES = Math.ceil(ITEMS / PAGE);

class Counter implements Subscriber {
  frames = 0;
  bytes = 0;
  sendText(text: string): void {
    this.frames++;
    this.bytes += text.length;
  }
}

type Op = "insert@0" | "delete@0" | "set@middle";
const OPS: Op[] = ["insert@0", "delete@0", "set@middle"];

interface Measure {
  cpuUs: number;
  frames: number;
}

const source = new MemoryListSource<{ n: number; text: string }>();
let serial = 0;
const item = () => ({ n: ++serial, text: `item ${serial}` });

async function fill(): Promise<number> {
  const t0 = performance.now();
  // No bulk path in MemoryListSource: 100k API appends (O(log n) each).
  for (let i = 0; i < ITEMS; i++) await source.insert(i, item());
  return performance.now() - t0;
}

function total(subs: Counter[]): number {
  let n = 0;
  for (const s of subs) n += s.frames;
  return n;
}

async function measure(
  subs: Counter[],
  run: () => Promise<unknown>,
  reps: number,
): Promise<Measure> {
  const f0 = total(subs);
  const c0 = cpuMicros();
  for (let i = 0; i < reps; i++) await run();
  const cpu = cpuMicros() - c0;
  return { cpuUs: cpu / reps, frames: (total(subs) - f0) / reps };
}

/** Which page each subscriber watches: N spread evenly over the pages. */
function pageOf(i: number, n: number): number {
  return Math.floor((i * PAGES) / n);
}

async function benchSize(n: number) {
  const list = new LocalList("big", {
    source,
    schema: v.object({ n: v.number(), text: v.string() }),
    maxPageSize: PAGE,
  });
  const subs = Array.from({ length: n }, () => new Counter());
  for (let i = 0; i < n; i++) await list.view(subs[i], pageOf(i, n), PAGE);
  // The ideal update's view of who watches what.
  const byPage = new Map<number, Counter[]>();
  for (let i = 0; i < n; i++) {
    const p = pageOf(i, n);
    if (!byPage.has(p)) byPage.set(p, []);
    byPage.get(p)!.push(subs[i]);
  }
  const middle = Math.floor(ITEMS / 2);
  const reps = Math.max(1, Math.round(2000 / n));

  const ops: Record<Op, () => Promise<unknown>> = {
    "insert@0": () => list.insert(0, item()),
    "delete@0": async () => {
      const { items } = await source.page(0, 1);
      await list.delete(items[0].id);
    },
    "set@middle": async () => {
      const { items } = await source.page(middle, 1);
      await list.set(items[0].id, item());
    },
  };
  // Hand-written updates, over the same source (the counts stay consistent).
  const countText = (t: number) =>
    JSON.stringify({ func: "set_count", type: "list", name: "big", total_item_count: t });
  const ideal: Record<Op, () => Promise<unknown>> = {
    "insert@0": async () => {
      await source.insert(0, item());
      await shiftAll();
    },
    "delete@0": async () => {
      const { items } = await source.page(0, 1);
      await source.delete(items[0].id);
      await shiftAll();
    },
    "set@middle": async () => {
      const { items } = await source.page(middle, 1);
      const value = item();
      await source.set(items[0].id, value);
      const text = JSON.stringify({
        func: "set",
        type: "list",
        name: "big",
        id: items[0].id,
        value,
      });
      for (const s of byPage.get(Math.floor(middle / PAGE)) ?? []) s.sendText(text);
    },
  };
  // Every page's content shifts by one: one read + one encode per watched page.
  async function shiftAll(): Promise<void> {
    for (const [p, watchers] of byPage) {
      const read = await source.page(p * PAGE, PAGE);
      const text = JSON.stringify({
        func: "set_all",
        type: "list",
        name: "big",
        page: p,
        page_size: PAGE,
        total_item_count: read.total,
        items: read.items,
      });
      for (const s of watchers) s.sendText(text);
    }
  }
  const floor = () => {
    const text = countText(ITEMS);
    for (const s of subs) s.sendText(text);
    return Promise.resolve();
  };

  // The ideal updates must not reach the LocalList: detach it while they run.
  // (LocalList listens to the source; a second list object would double the work.)
  const samples: Record<string, Measure[]> = {};
  const push = (k: string, m: Measure) => (samples[k] ??= []).push(m);
  for (let r = -1; r < ROUNDS; r++) {
    for (const op of OPS) {
      const a = await measure(subs, ops[op], reps);
      const f = await measure(subs, floor, reps);
      if (r >= 0) {
        push(`${op}/socksync`, a);
        push(`${op}/floor`, f);
      }
    }
  }
  list.close();
  // Ideal updates with the list detached from the source.
  for (let r = -1; r < ROUNDS; r++) {
    for (const op of OPS) {
      const b = await measure(subs, ideal[op], reps);
      const f = await measure(subs, floor, reps);
      if (r >= 0) {
        push(`${op}/ideal`, b);
        push(`${op}/floor2`, f);
      }
    }
  }
  return { n, windows: byPage.size, samples };
}

const fillMs = await fill();
const results = [];
for (const n of SIZES) {
  const r = await benchSize(n);
  results.push(r);
  console.error(
    `lists N=${n}: ` +
      OPS.map((op) =>
        `${op} ${fmt(stats(r.samples[`${op}/socksync`].map((m) => m.cpuUs)).median)} µs, ` +
        `${fmt(stats(r.samples[`${op}/socksync`].map((m) => m.frames)).median)} frames`
      ).join("; "),
  );
}

const rows: string[][] = [];
for (const op of OPS) {
  let prev: number | undefined;
  for (const r of results) {
    const s = r.samples;
    const cpu = s[`${op}/socksync`].map((m) => m.cpuUs);
    const frames = stats(s[`${op}/socksync`].map((m) => m.frames)).median;
    const idealFrames = stats(s[`${op}/ideal`].map((m) => m.frames)).median;
    const cpuMed = stats(cpu).median;
    // socksync and the floor ran side by side; the ideal ran with its own floor, so
    // the ratio to the ideal goes through the two floors (each paired by round).
    const vsFloor = ratios(cpu, s[`${op}/floor`].map((m) => m.cpuUs));
    const idealVsFloor = ratios(
      s[`${op}/ideal`].map((m) => m.cpuUs),
      s[`${op}/floor2`].map((m) => m.cpuUs),
    );
    const vsIdeal = vsFloor.median / idealVsFloor.median;
    rows.push([
      op,
      fmt(r.n),
      fmt(r.windows),
      `${fmt(frames)} (${fmt(frames / r.n)}/sub)`,
      fmt(idealFrames),
      `${fmt(cpuMed)} µs`,
      fs(vsFloor),
      fmt(vsIdeal),
      prev === undefined ? "–" : `×${fmt(cpuMed / prev)}`,
    ]);
    prev = cpuMed;
  }
}

const md = [
  sectionHead(
    `3. List views: ${
      fmt(ITEMS)
    } items, subscribers over pages of ${PAGE} (in process, ${runtime()})`,
    commandLine(),
  ),
  `Subscribers are counting \`Subscriber\` objects on a \`LocalList\` over a \`MemoryListSource\`, ` +
  `N spread evenly over the ${fmt(PAGES)} pages (N = 10k: two per page). ` +
  `floor = one pre-encoded \`set_count\` to each of the N subscribers, measured right after each change ` +
  `(its CPU is the unit of the ratio); ideal = a hand-written update over the same source ` +
  `(one read + one encode per changed page, one frame per subscriber), measured with its own floor. ` +
  `Insert/delete at index 0 shift every page, so every view changes and every subscriber needs a \`set_all\`. ` +
  `${ROUNDS} rounds of max(1, 2000/N) changes; filling took ${
    fmt(fillMs)
  } ms (100k API appends: the memory store has no bulk path).`,
  "",
  table([
    "change",
    "N",
    "pages watched",
    "frames/change",
    "ideal frames",
    "server CPU/change",
    "CPU ÷ floor",
    "CPU ÷ ideal",
    "CPU growth vs previous N",
  ], rows),
].join("\n");
console.log(md);
if (!opts.has("no-write")) writeSection("lists", md);
process.exit(0);
