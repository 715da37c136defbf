/**
 * Presence as a property over real sockets, on the runtime running this file: random
 * joins (viewing `messages` of a room, or explicitly), leaves (unsubscribing, explicitly),
 * state updates, disconnects and reconnects interleave with watchers that view random
 * pages of `room_members` and move them. At every quiet point each watcher's view,
 * rebuilt from its frames only, must equal a fresh read of the store (page and total),
 * and the members of each room must be those the actions say (with their states). A
 * failure prints the seed; `SOCKSYNC_PROPERTY_SEED=N` replays it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import * as v from "valibot";
import { Hub } from "../mod.ts";
import { MemoryListSource, MemoryPresenceStore } from "../stores/memory/mod.ts";
import { random } from "../src/testing/kit.ts";
import { PageMirror } from "./helpers/page_mirror.ts";
import type { Frame, RawSocket } from "./helpers/raw_socket.ts";
import { withServedHub } from "./helpers/serve_hub.ts";
import { waitUntil } from "./helpers/wait.ts";

const STEPS = 300;
const ROOMS = ["a", "b", "c"];
const MEMBERS = 6;
const WATCHERS = 3;

interface Watcher {
  socket: RawSocket;
  room: string;
  mirror: PageMirror;
  asked: number;
  size: number;
  broken: string[];
}

interface Conn {
  socket: RawSocket;
  /** Per room: viewing `messages`, joined explicitly, and the state the model expects. */
  rooms: Map<string, { viewing: boolean; explicit: boolean; state: unknown }>;
}

function presenceHub(store: MemoryPresenceStore) {
  const hub = new Hub();
  const Room = v.object({ room: v.picklist(ROOMS) });
  hub.list("messages", { params: Room, source: () => new MemoryListSource() });
  const members = hub.presence("room_members", {
    params: Room,
    state: v.object({ name: v.string(), typing: v.boolean() }),
    initial: { name: "anon", typing: false },
    store,
    joinWith: "messages",
    maxPageSize: 10,
  });
  const Args = v.object({
    room: v.string(),
    name: v.optional(v.string()),
    typing: v.optional(v.boolean()),
  });
  hub.function("set_presence", {
    args: Args,
    handler: async ({ room, ...change }, { peer }) => {
      await members.update(peer, { room }, change);
      return {};
    },
  });
  hub.function("join_room", {
    args: Args,
    handler: async ({ room }, { peer }) => (await members.join(peer, { room }), {}),
  });
  hub.function("leave_room", {
    args: Args,
    handler: async ({ room }, { peer }) => (await members.leave(peer, { room }), {}),
  });
  hub.function("echo", { args: v.unknown(), handler: (args) => args });
  return hub;
}

test("presence views equal a fresh read after random joins, leaves and updates", {
  timeout: 120_000,
}, async () => {
  const seed = Number(process.env.SOCKSYNC_PROPERTY_SEED) || Math.floor(Math.random() * 2 ** 31);
  const rand = random(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const store = new MemoryPresenceStore();
  let step = 0;
  try {
    await withServedHub({ hub: presenceHub(store) }, async ({ open }) => {
      const watchers: Watcher[] = [];
      const conns: Conn[] = [];
      let applied = 0;
      const follow = (watcher: Watcher) =>
        watcher.socket.socket.addEventListener("message", (event) => {
          const frame = JSON.parse(String((event as MessageEvent).data)) as Frame;
          if (frame.type !== "list" || frame.name !== "room_members") return;
          try {
            watcher.mirror.apply(frame);
            applied++;
          } catch (error) {
            watcher.broken.push(error instanceof Error ? error.message : String(error));
          }
        });
      for (let i = 0; i < WATCHERS; i++) {
        const watcher: Watcher = {
          socket: await open(),
          room: ROOMS[i],
          mirror: new PageMirror(),
          asked: 0,
          size: 1 + Math.floor(rand() * 4),
          broken: [],
        };
        follow(watcher);
        watcher.socket.send({
          func: "subscribe",
          type: "list",
          name: "room_members",
          params: { room: watcher.room },
          page: 0,
          page_size: watcher.size,
        });
        watchers.push(watcher);
      }
      for (let i = 0; i < MEMBERS; i++) conns.push({ socket: await open(), rooms: new Map() });

      const call = async (conn: Conn, name: string, args: unknown) => {
        const answer = await conn.socket.call(name, args);
        return answer.func === "return" ? "ok" : Number(answer.error_code);
      };
      const entry = (conn: Conn, room: string) => {
        let state = conn.rooms.get(room);
        if (!state) conn.rooms.set(room, state = { viewing: false, explicit: false, state: null });
        return state;
      };
      const present = (conn: Conn, room: string) => {
        const s = conn.rooms.get(room);
        return !!s && (s.viewing || s.explicit);
      };
      const arrive = (conn: Conn, room: string, how: "viewing" | "explicit") => {
        const s = entry(conn, room);
        if (!s.viewing && !s.explicit) s.state = { name: "anon", typing: false };
        s[how] = true;
      };
      const ops: (() => Promise<void> | void)[] = [
        // View messages of a room: joins it.
        () => {
          const conn = pick(conns);
          const room = pick(ROOMS);
          conn.socket.send({
            func: "subscribe",
            type: "list",
            name: "messages",
            params: { room },
            page: Math.floor(rand() * 3),
          });
          arrive(conn, room, "viewing");
        },
        // Move that view: nothing changes.
        () => {
          const conn = pick(conns);
          const room = pick([...conn.rooms].filter(([, s]) => s.viewing).map(([r]) => r));
          if (!room) return;
          conn.socket.send({
            func: "get",
            type: "list",
            name: "messages",
            params: { room },
            page: Math.floor(rand() * 3),
          });
        },
        () => {
          const conn = pick(conns);
          const room = pick(ROOMS);
          conn.socket.send({
            func: "unsubscribe",
            type: "list",
            name: "messages",
            params: { room },
          });
          const s = conn.rooms.get(room);
          if (s) s.viewing = false;
        },
        async () => {
          const conn = pick(conns);
          const room = pick(ROOMS);
          assert.equal(await call(conn, "join_room", { room }), "ok");
          arrive(conn, room, "explicit");
        },
        async () => {
          const conn = pick(conns);
          const room = pick(ROOMS);
          assert.equal(await call(conn, "leave_room", { room }), "ok");
          const s = conn.rooms.get(room);
          if (s) s.explicit = false;
        },
        async () => {
          const conn = pick(conns);
          const room = pick(ROOMS);
          const change = rand() < 0.5
            ? { name: `n${Math.floor(rand() * 1000)}` }
            : { typing: rand() < 0.5 };
          // The model knows whether the connection is there once its earlier frames ran.
          await conn.socket.drain();
          const answer = await call(conn, "set_presence", { room, ...change });
          if (present(conn, room)) {
            assert.equal(answer, "ok");
            const s = entry(conn, room);
            s.state = { ...(s.state as object), ...change };
          } else assert.equal(answer, 1, "not in the room: error 1");
        },
        // Disconnect, and a new connection takes its place.
        async () => {
          const at = Math.floor(rand() * conns.length);
          await conns[at].socket.close();
          conns[at] = { socket: await open(), rooms: new Map() };
        },
        // A watcher moves its page (or its page size).
        () => {
          const watcher = pick(watchers);
          watcher.asked = Math.floor(rand() * 4);
          watcher.size = 1 + Math.floor(rand() * 4);
          watcher.socket.send({
            func: "get",
            type: "list",
            name: "room_members",
            params: { room: watcher.room },
            page: watcher.asked,
            page_size: watcher.size,
          });
        },
      ];

      const scope = (room: string) => JSON.stringify(["room_members", JSON.stringify({ room })]);
      const read = async (room: string, offset: number, limit: number) => {
        const members = store.members(scope(room));
        try {
          return await members.page(offset, limit);
        } finally {
          await members.close?.();
        }
      };
      let quiet = 0;
      const quietPoint = async () => {
        quiet++;
        await Promise.all([...conns, ...watchers].map((c) => c.socket.drain()));
        let last = "";
        await waitUntil(async () => {
          // A closed connection leaves once the server saw the close: waited for, not assumed.
          for (const room of ROOMS) {
            const { items } = await read(room, 0, 1000);
            const want = conns.filter((c) => present(c, room)).map((c) => c.rooms.get(room)!.state);
            const sort = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();
            const got = sort(items.map((i) => i.value));
            if (JSON.stringify(got) !== JSON.stringify(sort(want))) {
              last = `the members of ${room}: ${got} instead of ${sort(want)}`;
              return false;
            }
          }
          for (const watcher of watchers) {
            assert.deepEqual(watcher.broken, [], "frames a view cannot apply");
            const { mirror, size } = watcher;
            const fresh = await read(watcher.room, mirror.page * size, size);
            const lastPage = Math.max(0, Math.ceil(fresh.total / size) - 1);
            const got = { total: mirror.total, items: mirror.items, size: mirror.pageSize };
            const want = { total: fresh.total, items: fresh.items, size };
            if (JSON.stringify(got) !== JSON.stringify(want) || mirror.page > lastPage) {
              last = `watcher of ${watcher.room}, page ${mirror.page}:\n got ${
                JSON.stringify(got)
              }\nwant ${JSON.stringify(want)}`;
              return false;
            }
            if (mirror.page > watcher.asked) return (last = "a page past the one asked", false);
          }
          return true;
        }, { what: "every view to equal a fresh read", timeout: 5000 }).catch((error) => {
          throw new Error(`${error.message}\n${last}`);
        });
      };

      for (step = 0; step < STEPS; step++) {
        await pick(ops)();
        if (rand() < 0.15) await quietPoint();
      }
      await quietPoint();
      console.log(`presence property: seed ${seed}, ${quiet} quiet points, ${applied} frames`);
      assert.ok(quiet > 10 && applied > 100, `${quiet} quiet points, ${applied} frames`);
    });
  } catch (error) {
    throw new Error(
      `seed ${seed} (SOCKSYNC_PROPERTY_SEED=${seed} replays it), step ${step}: ${
        error instanceof Error ? error.stack : error
      }`,
    );
  } finally {
    await store.close();
  }
});
