/**
 * Invariant 8 of PROTOCOL.md, property-based: after every change, every
 * subscriber's mirror — built only from the frames it received over a real
 * socket — equals what a `get` of its page would return.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as v from "valibot";
import { Hub, ListMirror, Peer } from "../mod.ts";
import type { ListSource } from "../src/store.ts";
import { storeKinds } from "./helpers/stores.ts";
import { webSocketClass } from "./helpers/raw_socket.ts";
import { serveHub } from "./helpers/serve_hub.ts";

const MAX_PAGE_SIZE = 7;

type Op =
  | { kind: "insert"; at: number; burst: number }
  | { kind: "set"; at: number }
  | { kind: "delete"; at: number; burst: number }
  | { kind: "move"; who: number; page: number; size: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("insert" as const),
      at: fc.nat(),
      burst: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("set" as const), at: fc.nat() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("delete" as const),
      at: fc.nat(),
      burst: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("move" as const),
      who: fc.nat(),
      page: fc.nat({ max: 8 }),
      size: fc.integer({ min: 1, max: MAX_PAGE_SIZE + 2 }),
    }),
  },
);

const view = fc.record({
  page: fc.nat({ max: 6 }),
  size: fc.integer({ min: 1, max: MAX_PAGE_SIZE + 2 }),
});

interface Subscriber {
  peer: Peer;
  mirror: ListMirror<number>;
  socket: WebSocket;
}

/** Resolves once a `set_all` for the requested page (clamped) and page size arrived. */
function pageArrives(
  mirror: ListMirror<number>,
  page: number,
  size: number,
  total?: number,
): Promise<void> {
  const pageSize = Math.min(size, MAX_PAGE_SIZE);
  const arrived = () => {
    if (!mirror.ready || mirror.pageSize !== pageSize) return false;
    const count = total ?? mirror.total;
    const last = count === 0 ? 0 : Math.ceil(count / pageSize) - 1;
    return mirror.page === Math.min(page, last);
  };
  return new Promise((resolve, reject) => {
    if (arrived()) return resolve();
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`page ${page} of size ${size} never arrived`));
    }, 5000);
    const stop = mirror.onChange(() => {
      if (!arrived()) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

async function openSubscriber(
  url: string,
  name: string,
  page: number,
  size: number,
): Promise<Subscriber> {
  const WS = await webSocketClass();
  const socket = new WS(url);
  const peer = new Peer({ socket, limits: { callTimeout: 5000 } });
  socket.addEventListener(
    "message",
    (event) => peer.receive((event as MessageEvent).data),
  );
  socket.addEventListener("close", () => peer.detach());
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve());
    socket.addEventListener("error", () => reject(new Error("cannot connect")));
  });
  const mirror = new ListMirror<number>(name, { page, pageSize: size });
  peer.mirror(mirror);
  // Requests on one connection may be answered out of order (a call does not wait
  // for a page read), so the first page is awaited itself, not behind a call.
  await pageArrives(mirror, page, size);
  return { peer, mirror, socket };
}

const RUNS = { memory: 30, sqlite: 6, redis: 6 };
const STEPS = { memory: 2000, sqlite: 400, redis: 400 };

for (const { kind, open } of await storeKinds("page invariant")) {
  test(`${kind}: every subscriber's page stays exact through random inserts, sets, deletes and page moves`, async () => {
    const { store, cleanup } = await open();
    const hub = new Hub({ onError: () => {} });
    const { server, url } = await serveHub(
      hub,
      (peer) => peer.acceptCalls("echo"),
    );
    hub.function("echo", { handler: (args) => args });
    let run = 0;
    let steps = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(view, { minLength: 1, maxLength: 5 }),
          fc.array(op, { minLength: 80, maxLength: 250 }),
          fc.array(fc.integer(), { minLength: 0, maxLength: 30 }),
          async (views, ops, initial) => {
            const name = `list${run++}`;
            const source: ListSource<number> = store.list<number>(name);
            for (const [i, value] of initial.entries()) {
              await source.insert(i, value);
            }
            const list = hub.list(name, {
              source,
              schema: v.number(),
              maxPageSize: MAX_PAGE_SIZE,
            });
            const subscribers: Subscriber[] = [];
            try {
              for (const { page, size } of views) {
                subscribers.push(await openSubscriber(url, name, page, size));
              }
              const settle = async () => {
                // A call's return is sent after every frame the change caused, on the same socket.
                await Promise.all(
                  subscribers.map((s) => s.peer.call("echo", null)),
                );
                for (const [i, s] of subscribers.entries()) {
                  const size = s.mirror.pageSize!;
                  const expected = await source.page(s.mirror.page * size, size);
                  const lastPage = expected.total === 0 ? 0 : Math.ceil(expected.total / size) - 1;
                  const context = `subscriber ${i} after step ${steps}`;
                  assert.ok(
                    s.mirror.page <= lastPage,
                    `${context}: page ${s.mirror.page} is past the end`,
                  );
                  assert.equal(
                    s.mirror.total,
                    expected.total,
                    `${context}: total`,
                  );
                  assert.deepEqual(
                    s.mirror.items,
                    expected.items,
                    `${context}: items`,
                  );
                }
              };
              await settle();
              let value = 1_000;
              for (const step of ops) {
                steps++;
                const count = await source.count();
                if (step.kind === "insert") {
                  await Promise.all(
                    Array.from(
                      { length: step.burst },
                      (_, k) =>
                        list.insert(
                          Math.min(step.at % (count + 1), count + k),
                          value++,
                        ),
                    ),
                  );
                } else if (step.kind === "move") {
                  const s = subscribers[step.who % subscribers.length];
                  s.peer.getPage(s.mirror, step.page, step.size);
                  await pageArrives(s.mirror, step.page, step.size, count);
                } else if (count > 0) {
                  const { items } = await source.page(
                    step.at % count,
                    step.kind === "set" ? 1 : step.burst,
                  );
                  if (step.kind === "set") await list.set(items[0].id, value++);
                  else await Promise.all(items.map((item) => list.delete(item.id)));
                }
                await settle();
              }
            } finally {
              for (const s of subscribers) s.socket.close();
              list.close();
              hub.lists.delete(name);
            }
          },
        ),
        { numRuns: RUNS[kind] },
      );
      assert.ok(steps >= STEPS[kind], `ran ${steps} steps`);
    } finally {
      await server.close();
      await hub.close();
      await cleanup();
    }
  });
}
