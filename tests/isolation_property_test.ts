/**
 * Per-user data tested like an attacker, over real sockets on the running
 * runtime: several signed-in users of the demo hub subscribe, get, watch
 * items and call with random other users' note ids, forged params, forged
 * args, forged tokens and keys built to collide. Properties: no frame a user
 * receives carries another user's row, and every refusal reads the same
 * whether the targeted note exists (another user's) or not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { memoryStore } from "../stores/memory/mod.ts";
import { createDemoHub } from "../demo/app.ts";
import { Sessions, tokenOf } from "../demo/session.ts";
import { serve } from "../src/serve/serve.ts";
import { random } from "../src/testing/kit.ts";
import { type Frame, RawSocket } from "./helpers/raw_socket.ts";

const USERS = ["ann", "ben", "cyd", "dot"];
const STEPS = Number(process.env.ISOLATION_STEPS) || 300;

interface Attacker {
  name: string;
  token: string;
  socket: RawSocket;
  /** Every frame it received, as sent. */
  seen: string[];
}

test("no user ever sees another user's notes, and refusals do not tell ids apart", {
  timeout: 120_000,
}, async (t) => {
  const seed = Number(process.env.ISOLATION_SEED) || Math.floor(Math.random() * 2 ** 31);
  t.diagnostic(`seed ${seed} (replay with ISOLATION_SEED=${seed})`);
  const rand = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];

  const store = memoryStore();
  const sessions = await Sessions.create("isolation");
  const hub = createDemoHub(store, { sessions });
  const server = await serve({
    hub,
    port: 0,
    hostname: "127.0.0.1",
    context: async (c) => ({ session: await sessions.verify(tokenOf(c.req.raw)) }),
  });
  const url = `ws://127.0.0.1:${server.port}/ws/socksync`;
  const users: Attacker[] = [];
  /** Note id → its owner. */
  const owner = new Map<string, string>();
  const tried = new Map<string, number>();
  const count = (what: string) => tried.set(what, (tried.get(what) ?? 0) + 1);
  try {
    for (const name of USERS) {
      const { token } = await sessions.issue(name, 600);
      // Half by cookie at the upgrade, half by token over the socket.
      const cookie = users.length % 2 === 0;
      const socket = await RawSocket.open(
        url,
        cookie ? { cookie: `socksync_session=${token}` } : undefined,
      );
      const user: Attacker = { name, token, socket, seen: [] };
      socket.socket.addEventListener("message", (event) => {
        user.seen.push(String((event as MessageEvent).data));
      });
      if (!cookie) assert.equal((await socket.call("socksync:auth", token)).func, "return");
      users.push(user);
    }

    /** Sends frames, then the frames that came before an echo's return. */
    const exchange = async (user: Attacker, ...frames: unknown[]): Promise<Frame[]> => {
      for (const frame of frames) user.socket.send(frame);
      const got = await user.socket.drain();
      // Calls and item reads run concurrently with the echo: wait for their own answers too.
      for (const frame of frames as Frame[]) {
        const answered = frame.func === "call" || frame.func === "get" && frame.id !== undefined ||
          frame.func === "subscribe" && frame.id !== undefined;
        const about = (f: Frame) => f.id === frame.id && f.name === frame.name;
        if (!answered || got.some(about)) continue;
        got.push(await user.socket.next(about));
      }
      return got;
    };
    const addNote = async (user: Attacker) => {
      const text = `secret:${user.name}:${Math.floor(rand() * 1e9)}`;
      const answer = await user.socket.call("add_note", { text });
      assert.equal(answer.func, "return", JSON.stringify(answer));
      owner.set((answer.value as { id: string }).id, user.name);
      await user.socket.drain();
    };
    for (const user of users) for (let i = 0; i < 3; i++) await addNote(user);

    const FORGED_PARAMS: unknown[] = [
      undefined,
      {},
      null,
      "ann",
      ["ann"],
      { user: "ann" },
      { owner: "ben" },
      { name: "cyd" },
      { __proto__: { user: "dot" } },
      { "": "ann" },
    ];
    const ghost = () => `ghost-${Math.floor(rand() * 1e9)}`;
    /** An id to aim at: another user's live note, or a deleted or made-up one. */
    const foreignId = (user: Attacker) => {
      const theirs = [...owner].filter(([, who]) => who !== user.name).map(([id]) => id);
      return theirs.length > 0 ? pick(theirs) : ghost();
    };
    /** The same request aimed at another user's note and at no note must get the same answer. */
    const sameRefusal = async (
      user: Attacker,
      what: string,
      make: (id: string) => unknown[],
    ) => {
      count(what);
      const real = foreignId(user);
      const fake = ghost();
      const a = await exchange(user, ...make(real));
      const b = await exchange(user, ...make(fake));
      // The answers about the probe (own views' updates may arrive meanwhile; a row with the
      // probed id would count).
      const norm = (frames: Frame[], id: string) =>
        JSON.stringify(
          frames.filter((f) => f.func === "error" || f.func === "return" || f.id === id),
        ).replaceAll(id, "<ID>");
      assert.equal(norm(a, real), norm(b, fake), `${what} tells ${real} from ${fake}`);
      assert.ok(a.some((f) => f.func === "error"), `${what}: not refused`);
      for (const frame of a) {
        if (frame.id !== real) continue;
        assert.equal(frame.func, "error", `${what} answered ${JSON.stringify(frame)}`);
      }
    };

    const ops: ((user: Attacker) => Promise<void>)[] = [
      (user) => addNote(user),
      async (user) => {
        count("subscribe my_notes with forged params");
        const params = pick(FORGED_PARAMS);
        const frame: Frame = { func: "subscribe", type: "list", name: "my_notes" };
        if (params !== undefined) frame.params = params;
        if (rand() < 0.5) frame.page_size = pick([1, 5, 50, 51, 1000]);
        await exchange(user, frame);
      },
      (user) =>
        sameRefusal(user, "get an item", (id) => [
          { func: "get", type: "list", name: "my_notes", id },
        ]),
      (user) =>
        sameRefusal(user, "subscribe to an item", (id) => [
          { func: "subscribe", type: "list", name: "my_notes", id },
        ]),
      (user) =>
        sameRefusal(user, "subscribe to an item with forged params", (id) => [
          { func: "subscribe", type: "list", name: "my_notes", id, params: { user: "ann" } },
        ]),
      (user) =>
        sameRefusal(user, "delete a note", (id) => [
          { func: "call", type: "function", name: "delete_note", id: "c", args: { id } },
        ]),
      (user) =>
        sameRefusal(user, "set a note", (id) => [
          { func: "set", type: "list", name: "my_notes", id, value: { text: "x", created_at: 0 } },
        ]),
      (user) =>
        sameRefusal(user, "unsubscribe from an item", (id) => [
          { func: "unsubscribe", type: "list", name: "my_notes", id },
          { func: "get", type: "list", name: "my_notes", id },
        ]),
      async (user) => {
        count("add_note with a forged owner");
        const other = pick(USERS);
        const answer = await user.socket.call("add_note", { text: "x", owner: other, user: other });
        assert.equal(answer.error_code, 6);
      },
      async (user) => {
        count("authenticate with a forged or another user's tampered token");
        const victim = pick(users.filter((u) => u !== user));
        const [body, sig] = victim.token.split(".");
        const forged = pick([`${body}.${sig.slice(0, -2)}AA`, `${body}x.${sig}`, body, "", 42, {
          token: `${body}.`,
        }]);
        const answer = await user.socket.call("socksync:auth", forged);
        assert.equal(answer.error_code, 1, JSON.stringify(answer));
      },
      async (user) => {
        count("keys built to collide");
        const id = foreignId(user);
        await exchange(
          user,
          { func: "subscribe", type: "list", name: `my_notes","${id}` },
          { func: "subscribe", type: "list", name: "my_notes", id: `${id}"]` },
          { func: "get", type: "list", name: "my_notes", params: `{"user":"ann"}` },
          { func: "get", type: "list", name: "my_notes", page: 0, page_size: 50 },
        );
      },
      async (user) => {
        count("delete an own note");
        const mine = [...owner].filter(([, who]) => who === user.name).map(([id]) => id);
        if (mine.length === 0) return;
        const id = pick(mine);
        assert.equal((await user.socket.call("delete_note", { id })).func, "return");
        owner.delete(id);
        await user.socket.drain();
      },
      async (user) => {
        count("refresh the session (live subscriptions re-checked)");
        const answer = await user.socket.call("socksync:auth", user.token);
        assert.equal(answer.func, "return");
        await user.socket.drain();
      },
    ];

    for (let step = 0; step < STEPS; step++) await pick(ops)(pick(users));

    // Every frame each user got: no other user's row, and every row id its own.
    for (const user of users) {
      for (const text of user.seen) {
        const others = USERS.filter((name) => name !== user.name);
        for (const name of others) {
          assert.ok(!text.includes(`secret:${name}:`), `${user.name} saw ${name}'s row: ${text}`);
        }
        const frame = JSON.parse(text) as Frame;
        const ids = frame.func === "set_all"
          ? (frame.items as { id: string }[]).map((item) => item.id)
          : frame.func === "set" || frame.func === "insert"
          ? [frame.id as string]
          : [];
        for (const id of ids) {
          if (owner.has(id)) assert.equal(owner.get(id), user.name, `${user.name} got row ${id}`);
        }
      }
    }
    // The views still work: each user sees exactly their live notes.
    for (const user of users) {
      const [page] = await exchange(user, {
        func: "subscribe",
        type: "list",
        name: "my_notes",
        page: 0,
        page_size: 50,
      }).then(async (before) =>
        before.length > 0 && before.some((f) => f.func === "set_all")
          ? before
          : await exchange(user, {
            func: "get",
            type: "list",
            name: "my_notes",
            page: 0,
            page_size: 50,
          })
      ).then((frames) => frames.filter((f) => f.func === "set_all"));
      const mine = [...owner].filter(([, who]) => who === user.name).map(([id]) => id).sort();
      const shown = (page.items as { id: string }[]).map((item) => item.id).sort();
      assert.deepEqual(shown, mine.slice(0, 50));
    }
    t.diagnostic(`tried: ${JSON.stringify(Object.fromEntries(tried))}`);
  } finally {
    for (const user of users) await user.socket.close();
    await server.close();
    await hub.close();
  }
});
