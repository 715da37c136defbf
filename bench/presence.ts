/**
 * Presence in big rooms: the CPU one join or leave costs (the hub, the store and the
 * frames for the room's viewers, all in process) at 100, 1,000 and 10,000 members,
 * with 20 viewers of the members list (pages of 50: first and last pages), on the
 * memory store and, when reachable, on Redis; then 200 joins and leaves per second
 * held for 5 s on one instance. Run: `node --expose-gc --import tsx bench/presence.ts`.
 */
import process from "node:process";
import * as v from "valibot";
import { Hub } from "../mod.ts";
import type { PresenceStore } from "../src/store.ts";
import { MemoryPresenceStore } from "../stores/memory/mod.ts";
import { openRedisStore } from "../stores/redis/mod.ts";

const SIZES = [100, 1_000, 10_000];
const CHANGES = 2_000;
const VIEWERS = 20;
const Room = v.object({ room: v.string() });
const State = v.object({ name: v.string(), typing: v.boolean() });

interface Fake {
  sendText(text: string): void;
}

async function room(store: PresenceStore, size: number) {
  const hub = new Hub();
  const members = hub.presence("members", {
    params: Room,
    state: State,
    initial: { name: "anon", typing: false },
    store,
    maxPageSize: 50,
  });
  let frames = 0;
  const fake = (): Fake => ({ sendText: () => void frames++ });
  const params = { room: `r${Math.random()}` };
  const viewers = Array.from({ length: VIEWERS }, fake);
  const query = members.list.acquire(params, undefined);
  for (const [i, viewer] of viewers.entries()) {
    await query.list.view(viewer, i % 2 === 0 ? 0 : Math.floor(size / 50), 50);
  }
  const present: Fake[] = [];
  for (let i = 0; i < size; i++) {
    const peer = fake();
    present.push(peer);
    await members.join(peer, params, { name: `m${i}`, typing: false });
  }
  return { hub, members, params, present, frames: () => frames, query, fake };
}

async function perChange(store: PresenceStore, size: number) {
  const r = await room(store, size);
  const before = r.frames();
  (globalThis as { gc?: () => void }).gc?.();
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < CHANGES / 2; i++) {
    const peer = r.fake();
    await r.members.join(peer, r.params);
    await r.members.leave(peer, r.params);
  }
  const used = process.cpuUsage(cpu);
  const wall = performance.now() - start;
  const total = await r.query.list.count();
  const sent = r.frames() - before;
  for (const peer of r.present) await r.members.leave(peer, r.params);
  r.query.release();
  await r.hub.close();
  return {
    cpuUs: (used.user + used.system) / CHANGES,
    wallUs: (wall * 1000) / CHANGES,
    framesPerChange: sent / CHANGES,
    total,
  };
}

async function sustained(store: PresenceStore) {
  const r = await room(store, 1_000);
  const rate = 200;
  const seconds = 5;
  let late = 0;
  let done = 0;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < rate * seconds; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const peer = r.fake();
    const t0 = performance.now();
    // Half joins, half leaves: each connection joins, then leaves 50 ms later.
    pending.push(
      r.members.join(peer, r.params).then(async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        await r.members.leave(peer, r.params);
        done++;
        if (performance.now() - t0 > 250) late++;
      }),
    );
  }
  await Promise.all(pending);
  const took = (performance.now() - start) / 1000;
  for (const peer of r.present) await r.members.leave(peer, r.params);
  r.query.release();
  await r.hub.close();
  return { changesPerSecond: (2 * done) / took, late };
}

const stores: [string, () => Promise<{ presence: PresenceStore; close(): Promise<void> }>][] = [
  ["memory", () => {
    const presence = new MemoryPresenceStore();
    return Promise.resolve({ presence, close: () => presence.close() });
  }],
  ["redis", async () => {
    const store = await openRedisStore({
      url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
      prefix: `bench-presence-${Math.random().toString(36).slice(2)}:`,
    });
    return { presence: store.presence!(), close: () => store.close() };
  }],
];

console.log(`| store | members | CPU per change | wall per change | frames per change |`);
console.log(`|---|---:|---:|---:|---:|`);
const held: string[] = [];
for (const [name, open] of stores) {
  let opened;
  try {
    opened = await open();
  } catch (error) {
    console.log(`| ${name} | skipped: ${error instanceof Error ? error.message : error} |`);
    continue;
  }
  try {
    for (const size of SIZES) {
      const r = await perChange(opened.presence, size);
      console.log(
        `| ${name} | ${size.toLocaleString("en")} | ${r.cpuUs.toFixed(0)} µs | ${
          r.wallUs.toFixed(0)
        } µs | ${r.framesPerChange.toFixed(1)} |`,
      );
    }
    const s = await sustained(opened.presence);
    held.push(
      `${name}: ${
        s.changesPerSecond.toFixed(0)
      } joins+leaves/s held (asked 400/s: 200 joins and 200 leaves), ${s.late} of 1,000 members took over 250 ms`,
    );
  } finally {
    await opened.close();
  }
}
for (const line of held) console.log(`\n${line}`);
