/**
 * A table query served as a list over real sockets, for any backend: random
 * plain-SQL writes on another connection (inserts, deletes, text edits, moves
 * by created_at, moves between rooms) and random page moves; every
 * subscriber's page converges to
 * `SELECT … WHERE room = 'general' ORDER BY created_at DESC, id DESC LIMIT … OFFSET …`
 * and its total to COUNT(*). A backend's test file opens its table and hands
 * {@linkcode servedViewsConverge} the writes and the truth in its own SQL.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as v from "valibot";
import { Hub, ListMirror } from "../../mod.ts";
import { Peer } from "../../src/peer/mod.ts";
import type { ListSource } from "../../src/store.ts";
import { webSocketClass } from "./raw_socket.ts";
import { serveHub } from "./serve_hub.ts";
import { waitUntil } from "./wait.ts";

/** The largest page the served list gives. */
export const MAX_PAGE_SIZE = 5;

/** A row of the `messages` table, as the list serves it. */
export const message = v.object({
  room: v.string(),
  author: v.string(),
  text: v.string(),
  created_at: v.number(),
});

/** A message's value. */
export type Message = v.InferOutput<typeof message>;

/**
 * The query both backends serve, as table-binding options (with their `db`
 * and `table`): room 'general', newest first.
 */
export const GENERAL_NEWEST_FIRST = {
  key: "id",
  orderBy: [{ column: "created_at", desc: true }, { column: "id", desc: true }],
  where: "room = :room",
  params: { room: "general" },
  columns: ["room", "author", "text", "created_at"],
};

/** A page as the database has it. */
export interface Truth {
  items: { id: string; value: Record<string, unknown> }[];
  total: number;
}

/** A value, or a promise of it (SQLite answers at once, PostgreSQL later). */
type Awaitable<T> = T | Promise<T>;

/**
 * One backend: the served table query (`room = 'general'`, newest first) and
 * another connection writing to its table and reading the truth.
 */
export interface ViewsBackend {
  /** The table query over `messages` where room = 'general'. */
  source: ListSource<Message>;
  /** Inserts a row. */
  insert(id: string, room: string, author: string, text: string, at: number): Awaitable<void>;
  /** Deletes a row. */
  remove(id: string): Awaitable<void>;
  /** Sets one column of a row. */
  update(
    column: "text" | "created_at" | "room",
    value: string | number,
    id: string,
  ): Awaitable<void>;
  /** Every row's id, in id order. */
  ids(): Awaitable<string[]>;
  /** The page at `offset` of `size` rows and the total, straight from the table. */
  expected(offset: number, size: number): Awaitable<Truth>;
  /** The texts a write may set (PostgreSQL refuses NUL). */
  text: fc.Arbitrary<string>;
  /** Runs after each step's write, before the step's wait if any. */
  afterStep?(step: number): void;
  /** Whether step `step` waits until every page is exact (the others pile up writes). */
  settlesAfter(step: number): boolean;
  /** Milliseconds a page may take to become exact. */
  timeout: number;
  /** fast-check options of the property. */
  runs: fc.Parameters<unknown>;
}

interface Subscriber {
  peer: Peer;
  mirror: ListMirror<Message>;
  socket: WebSocket;
}

async function openSubscriber(url: string, page: number, size: number): Promise<Subscriber> {
  const WS = await webSocketClass();
  const socket = new WS(url);
  const peer = new Peer({ socket, limits: { callTimeout: 5000 } });
  socket.addEventListener("message", (event) => peer.receive((event as MessageEvent).data));
  socket.addEventListener("close", () => peer.detach());
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve());
    socket.addEventListener("error", () => reject(new Error("cannot connect")));
  });
  const mirror = new ListMirror<Message>("general", { page, pageSize: size });
  peer.mirror(mirror);
  await waitUntil(() => mirror.ready, { what: "the first page" });
  return { peer, mirror, socket };
}

/**
 * Serves `backend.source` as the list "general" to three subscribers on
 * different pages, runs random writes and page moves, and asserts that every
 * page and total converges to the table's; closes what it opened.
 */
export async function servedViewsConverge(backend: ViewsBackend): Promise<void> {
  const hub = new Hub({ onError: () => {} });
  hub.list("general", { source: backend.source, schema: message, maxPageSize: MAX_PAGE_SIZE });
  const { server, url } = await serveHub(hub);
  const subscribers: Subscriber[] = [];
  let next = 0;
  const write = fc.oneof(
    fc.record({
      op: fc.constant("insert" as const),
      room: fc.constantFrom("general", "random"),
      at: fc.nat(8),
    }),
    fc.record({ op: fc.constant("delete" as const), pick: fc.nat() }),
    fc.record({ op: fc.constant("text" as const), pick: fc.nat(), text: backend.text }),
    fc.record({ op: fc.constant("time" as const), pick: fc.nat(), at: fc.nat(8) }),
    fc.record({
      op: fc.constant("room" as const),
      pick: fc.nat(),
      room: fc.constantFrom("general", "random"),
    }),
    fc.record({
      op: fc.constant("move" as const),
      who: fc.nat(),
      page: fc.nat(4),
      size: fc.integer({ min: 1, max: 7 }),
    }),
  );
  const exact = async () => {
    for (const s of subscribers) {
      const size = s.mirror.pageSize ?? 1;
      const truth = await backend.expected(s.mirror.page * size, size);
      const last = truth.total === 0 ? 0 : Math.ceil(truth.total / size) - 1;
      if (
        s.mirror.total !== truth.total || s.mirror.page > last ||
        JSON.stringify(s.mirror.items) !== JSON.stringify(truth.items)
      ) return false;
    }
    return true;
  };
  const until = (what: string) => waitUntil(exact, { what, timeout: backend.timeout });
  try {
    for (let i = 0; i < 12; i++) {
      await backend.insert(`s${i}`, i % 3 ? "general" : "random", "ann", "hi", i % 5);
    }
    for (const [page, size] of [[0, 5], [1, 3], [2, 2]]) {
      subscribers.push(await openSubscriber(url, page, size));
    }
    await fc.assert(
      fc.asyncProperty(fc.array(write, { minLength: 20, maxLength: 40 }), async (steps) => {
        for (const [n, w] of steps.entries()) {
          const ids = await backend.ids();
          const id = "pick" in w && ids.length > 0 ? ids[w.pick % ids.length] : undefined;
          if (w.op === "insert") {
            await backend.insert(`m${next++}`, w.room, "bo", "new", w.at);
          } else if (w.op === "move") {
            const s = subscribers[w.who % subscribers.length];
            s.peer.getPage(s.mirror, w.page, w.size);
          } else if (id !== undefined) {
            if (w.op === "delete") await backend.remove(id);
            else if (w.op === "text") await backend.update("text", w.text, id);
            else if (w.op === "time") await backend.update("created_at", w.at, id);
            else await backend.update("room", w.room, id);
          }
          backend.afterStep?.(n);
          if (backend.settlesAfter(n)) await until(`every page after step ${n}`);
        }
        await until("every page at the end");
      }),
      backend.runs,
    );
    for (const s of subscribers) {
      const size = s.mirror.pageSize!;
      assert.deepEqual(s.mirror.items, (await backend.expected(s.mirror.page * size, size)).items);
    }
  } finally {
    for (const s of subscribers) s.socket.close();
    await server.close();
    await hub.close();
  }
}
