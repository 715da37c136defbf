/**
 * Property-based fuzzing of incoming frames (fast-check): random bytes,
 * random JSON, valid messages with fields dropped, mutated or of the wrong
 * type, huge strings and numbers, deep nesting, `__proto__` and
 * `constructor` keys. Every frame gets at most one reply, every reply is a
 * well-formed frame with error codes 1–8, the peer never throws, nothing is
 * rejected unhandled, and no state leaks between connections or into
 * `Object.prototype`.
 *
 * The volume part (100,000 frames) feeds `Peer.receive()` in-process with a
 * socket that records what is sent; a smaller part goes over real sockets.
 * `bench/soak_fuzz.ts` runs the same generator for longer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import process from "node:process";
import fc from "fast-check";
import * as v from "valibot";
import { ErrorCode, Hub, SockSyncError } from "../mod.ts";
import type { Peer, SocketLike } from "../src/peer/mod.ts";
import { decodeFrame } from "../src/protocol/mod.ts";
import type { Limits } from "../src/peer/limits.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import type { RawSocket } from "./helpers/raw_socket.ts";
import { withServedHub } from "./helpers/serve_hub.ts";

/** Frames per runtime in the in-process part (the issue asks for at least 100,000). */
const FRAMES = Number(process.env.SOCKSYNC_FUZZ_FRAMES) || 100_000;
const PER_CONNECTION = 200;

/** Names and ids that would hurt if anything indexed a plain object with them. */
const EVIL = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "__defineGetter__",
];
const ITEM_IDS = ["a", "b", "__proto__", "constructor"];
const FUNCTIONS = ["echo", "add", "boom", "fail4", "whoami"];
const NAMES = ["counter", "todos", ...FUNCTIONS, "nope", "", ...EVIL];
const FUNCS = [
  "get",
  "set",
  "set_all",
  "set_count",
  "insert",
  "delete",
  "call",
  "return",
  "subscribe",
  "unsubscribe",
  "unsubscribe_all",
  "error",
];

// Placeholders for numbers JSON.stringify cannot write: swapped into the text.
const SPECIAL: Record<string, string> = {
  "\u0000INF": "1e999",
  "\u0000NINF": "-1e999",
  "\u0000BIG": "9007199254740993",
  "\u0000HUGE": "1e308",
  "\u0000TINY": "1e-400",
  "\u0000NEGZERO": "-0",
};
const specialArb = fc.constantFrom(...Object.keys(SPECIAL));

function render(value: unknown): string {
  let text = JSON.stringify(value);
  for (const [marker, literal] of Object.entries(SPECIAL)) {
    text = text.replaceAll(JSON.stringify(marker), literal);
  }
  return text;
}

const nameArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);
const idArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ITEM_IDS, ...EVIL, "x") },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const countArb = fc.oneof(
  fc.nat({ max: 5 }),
  fc.integer(),
  fc.double(),
  specialArb,
);
const valueArb = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: specialArb },
  {
    weight: 1,
    // Own "__proto__" and "constructor" keys, as JSON.parse makes them.
    arbitrary: fc.constant(null).map(() =>
      JSON.parse(
        '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}',
      )
    ),
  },
);
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });

function message(
  func: string,
  types: string[],
  fields: Record<string, fc.Arbitrary<unknown>> = {},
) {
  return fc.record({
    func: fc.constant(func),
    type: fc.constantFrom(...types),
    name: nameArb,
    ...fields,
  }).map((m) => Object.fromEntries(Object.entries(m).filter(([, x]) => x !== undefined)));
}

/** Messages that pass (or nearly pass) the schemas. */
const validArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  message("subscribe", ["var", "list", "function"], {
    page: opt(countArb),
    page_size: opt(countArb),
    id: opt(idArb),
  }),
  message("unsubscribe", ["var", "list", "function"], { id: opt(idArb) }),
  message("get", ["var", "list"], {
    page: opt(countArb),
    page_size: opt(countArb),
    id: opt(idArb),
  }),
  message("set", ["var", "list"], { id: opt(idArb), value: valueArb }),
  message("set_all", ["list"], {
    page: countArb,
    page_size: opt(countArb),
    total_item_count: countArb,
    items: fc.array(fc.record({ id: idArb, value: valueArb }), {
      maxLength: 4,
    }),
  }),
  message("set_count", ["list"], { total_item_count: countArb }),
  message("insert", ["list"], { index: countArb, id: idArb, value: valueArb }),
  message("delete", ["list"], { id: idArb }),
  message("call", ["function"], { id: idArb, args: opt(valueArb) }),
  message("return", ["function"], { id: idArb, value: opt(valueArb) }),
  fc.constant({ func: "unsubscribe_all" }),
  fc.record({
    func: fc.constant("error"),
    error_code: fc.oneof(fc.integer({ min: -2, max: 12 }), valueArb),
    message: opt(fc.string()),
    name: opt(nameArb),
    id: opt(idArb),
  }),
);

/** Valid requests about what the hub provides, so the success paths run too. */
const realArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.constantFrom(
    { func: "subscribe", type: "var", name: "counter" },
    { func: "get", type: "var", name: "counter" },
    { func: "unsubscribe", type: "var", name: "counter" },
    { func: "unsubscribe", type: "list", name: "todos" },
    { func: "unsubscribe_all" },
  ),
  fc.record({
    func: fc.constantFrom("subscribe", "get", "unsubscribe"),
    type: fc.constant("list"),
    name: fc.constant("todos"),
    page: opt(fc.nat({ max: 4 })),
    page_size: opt(fc.integer({ min: 1, max: 5 })),
    id: opt(fc.constantFrom(...ITEM_IDS, "__proto__", "gone")),
  }).map((m) => Object.fromEntries(Object.entries(m).filter(([, x]) => x !== undefined))),
  fc.record({
    func: fc.constant("call"),
    type: fc.constant("function"),
    name: fc.constantFrom(...FUNCTIONS),
    id: idArb,
    args: fc.oneof(
      valueArb,
      fc.record({ a: fc.oneof(fc.double(), specialArb), b: fc.integer() }),
    ),
  }),
);

/** A valid message with one field dropped, replaced, or given a hostile key. */
const mutatedArb = fc.tuple(validArb, fc.nat(), fc.nat({ max: 5 }), valueArb)
  .map(([m, pick, how, junk]) => {
    const keys = Object.keys(m);
    const key = keys[pick % keys.length];
    const copy: Record<string, unknown> = { ...m };
    switch (how) {
      case 0:
        delete copy[key];
        return render(copy);
      case 1:
        copy[key] = junk;
        return render(copy);
      case 2:
        copy[key] = JSON.stringify(copy[key]) ?? "undefined";
        return render(copy);
      case 3:
        copy.func = FUNCS[pick % FUNCS.length];
        return render(copy);
      case 4:
        // Own "__proto__" and "constructor" keys, as JSON.parse creates them.
        return `{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},${
          render(copy).slice(1)
        }`;
      default:
        return render({ ...copy, [key]: { __proto__: null, [key]: junk } });
    }
  });

/** Deep nesting: inside a valid call, or bare (balanced or not). */
const deepArb = fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.nat({ max: 3 }))
  .map(([depth, how]) => {
    const open = (how % 2 === 0 ? "[" : '{"a":').repeat(depth);
    const close = (how % 2 === 0 ? "]" : "}").repeat(depth);
    if (how < 2) {
      return `{"func":"call","type":"function","name":"echo","id":"d","args":${open}1${close}}`;
    }
    return how === 2 ? open + close : open;
  });

/** Long strings (up to megabytes, some beyond the frame limit) and long names. */
const hugeArb = fc.tuple(
  fc.constantFrom(1_000, 100_000, 900_000, 1_100_000, 3_000_000),
  fc.constantFrom("args", "name", "id"),
  fc.constantFrom("a", "é", "\u{1F600}"),
).map(([size, field, char]) => {
  const big = char.repeat(Math.ceil(size / char.length / 2));
  const frame: Record<string, unknown> = {
    func: "call",
    type: "function",
    name: "echo",
    id: "h",
  };
  frame[field] = big;
  return JSON.stringify(frame);
});

/** Any frame: text, or bytes. */
const frameArb: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 30, arbitrary: realArb.map(render) },
  { weight: 30, arbitrary: validArb.map(render) },
  { weight: 30, arbitrary: mutatedArb },
  { weight: 6, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 4, arbitrary: fc.string({ maxLength: 40, unit: "binary" }) },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  {
    weight: 3,
    arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => String.fromCharCode(...bytes)),
  },
  { weight: 3, arbitrary: deepArb },
  { weight: 1, arbitrary: hugeArb },
);

/** A socket that records what is sent. */
class RecordingSocket implements SocketLike {
  readonly sent: string[] = [];
  readyState = 1;
  bufferedAmount = 0;
  closedWith: { code?: number; reason?: string } | undefined;
  send(data: string): void {
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }
}

/** The hub every connection of a run talks to: vars, a list, functions. */
async function makeHub(limits: Partial<Limits>) {
  const errors: unknown[] = [];
  const hub = new Hub<{ conn: number }>({
    limits,
    onError: (error) => errors.push(error),
  });
  const counter = hub.var("counter", { schema: v.number(), initial: 0 });
  const todos = hub.list("todos", {
    source: new MemoryListSource<unknown>(),
    schema: v.unknown(),
    maxPageSize: 3,
  });
  for (const [i, id] of ITEM_IDS.entries()) await todos.insert(i, { i }, id);
  hub.function("echo", { handler: (args) => args });
  hub.function("add", {
    args: v.object({ a: v.number(), b: v.number() }),
    handler: ({ a, b }) => a + b,
  });
  hub.function("boom", {
    handler: () => {
      throw new Error("secret");
    },
  });
  hub.function("fail4", {
    handler: () => {
      throw new SockSyncError(ErrorCode.InvalidId, "no such thing");
    },
  });
  hub.function("whoami", { handler: (_args, { context }) => context });
  return { hub, counter, todos, errors };
}

/** What the replies were, to show the fuzzer reaches every path. */
const replyKinds = new Map<string, number>();

/** Every reply must be one well-formed frame; errors carry a code 1–8 and a message. */
function checkReply(text: string, after: unknown): void {
  const decoded = decodeFrame(text);
  assert.ok(decoded.ok, `malformed reply ${text.slice(0, 200)} to ${after}`);
  const frame = JSON.parse(text);
  const kind = frame.func === "error" ? `error ${frame.error_code}` : frame.func;
  replyKinds.set(kind, (replyKinds.get(kind) ?? 0) + 1);
  if (frame.func === "error") {
    assert.ok(
      Number.isInteger(frame.error_code) && frame.error_code >= 1 &&
        frame.error_code <= 8,
      `error code out of range: ${text}`,
    );
    assert.equal(typeof frame.message, "string");
    assert.doesNotMatch(frame.message, /secret/);
  }
}

function describeFrame(frame: string | Uint8Array): string {
  return typeof frame === "string" ? JSON.stringify(frame.slice(0, 200)) : `bytes(${frame.length})`;
}

/** Records unhandled rejections and uncaught exceptions while `fn` runs. */
async function watchCrashes(fn: () => Promise<void>): Promise<void> {
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);
  process.on("unhandledRejection", onCrash);
  process.on("uncaughtException", onCrash);
  const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  try {
    await fn();
  } finally {
    process.off("unhandledRejection", onCrash);
    process.off("uncaughtException", onCrash);
  }
  assert.deepEqual(crashes, []);
  assert.deepEqual(
    Object.getOwnPropertyNames(Object.prototype).sort(),
    protoBefore,
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(
    (Object.prototype as Record<string, unknown>).polluted,
    undefined,
  );
}

/** Feeds one connection's frames to a fresh peer and checks every invariant. */
async function runConnection(
  fx: Awaited<ReturnType<typeof makeHub>>,
  frames: (string | Uint8Array)[],
  conn: number,
): Promise<number> {
  const socket = new RecordingSocket();
  const context = { conn };
  const peer = fx.hub.connect(socket, { context });
  peer.acceptCalls(...FUNCTIONS);
  socket.sent.length = 0;
  let fed = 0;
  for (const frame of frames) {
    const before = socket.sent.length;
    let done: Promise<void> | undefined;
    try {
      done = peer.receive(frame);
    } catch (error) {
      assert.fail(`receive threw ${error} on ${describeFrame(frame)}`);
    }
    if (done) await done;
    fed++;
    const replies = socket.sent.slice(before);
    assert.ok(
      replies.length <= 1,
      `${replies.length} replies to ${describeFrame(frame)}: ${replies}`,
    );
    for (const reply of replies) checkReply(reply, describeFrame(frame));
  }
  if (socket.closedWith) {
    // Only a frame over the size limit closes an in-process connection here.
    assert.equal(socket.closedWith.code, 1009);
    assert.ok(peer.detached);
  } else {
    // The context is this connection's, whatever came before.
    await peer.receive(
      '{"func":"call","type":"function","name":"whoami","id":"me"}',
    );
    const last = JSON.parse(socket.sent.at(-1)!);
    assert.deepEqual(last.value, context);
  }
  peer.detach();
  await assertNoLeftovers(fx, peer);
  return fed;
}

/** Nothing of a detached peer remains in the groups. */
async function assertNoLeftovers(
  fx: Awaited<ReturnType<typeof makeHub>>,
  peer: Peer<unknown>,
): Promise<void> {
  // Unsubscribing is queued behind earlier work of each group: wait for it.
  await fx.counter.get();
  await fx.todos.unsubscribe({ sendText() {} });
  assert.equal(fx.counter.subscriberCount, 0, "a var subscription remains");
  assert.equal(fx.todos.hasView(peer), false, "a list view remains");
  for (const id of [...ITEM_IDS, ...EVIL]) {
    assert.equal(fx.todos.hasItem(peer, id), false, `item ${id} remains`);
  }
  assert.equal(fx.hub.peers.size, 0, "the peer remains in the hub");
}

const IN_PROCESS: Partial<Limits> = {
  messageRate: Infinity,
  messageBurst: Infinity,
  maxRateStrikes: Infinity,
  idleTimeout: 0,
};

test(`fuzz: ${FRAMES} frames fed to peers in-process`, async () => {
  const fx = await makeHub(IN_PROCESS);
  let total = 0;
  let conn = 0;
  try {
    await watchCrashes(async () => {
      const details = await fc.check(
        fc.asyncProperty(
          fc.array(frameArb, {
            minLength: PER_CONNECTION,
            maxLength: PER_CONNECTION,
          }),
          async (frames) => {
            total += await runConnection(fx, frames, ++conn);
          },
        ),
        {
          numRuns: Math.ceil(FRAMES / PER_CONNECTION),
          seed: Number(process.env.SOCKSYNC_FUZZ_SEED) || undefined,
        },
      );
      if (details.failed) {
        // The shrunk counterexample can hold megabytes: show its start.
        const failing = details.counterexample?.[0] ?? [];
        const dump = process.env.SOCKSYNC_FUZZ_DUMP;
        if (dump) {
          writeFileSync(
            dump,
            JSON.stringify(
              failing.map((f) => typeof f === "string" ? f : [...f]),
            ),
          );
        }
        const frames = failing.map(describeFrame);
        throw new Error(
          `${details.errorInstance} (seed ${details.seed}); frames: ${
            frames.join(", ").slice(0, 3000)
          }`,
        );
      }
    });
    assert.ok(total >= FRAMES, `only ${total} frames`);
    // A fresh connection sees none of the earlier ones' state.
    const socket = new RecordingSocket();
    const peer = fx.hub.connect(socket, { context: { conn: -1 } });
    peer.receive('{"func":"get","type":"var","name":"counter"}');
    assert.equal(JSON.parse(socket.sent[0]).error_code, 1);
    peer.detach();
    // Errors reported to onError are handler failures only ("boom").
    for (const error of fx.errors) assert.match(String(error), /secret/);
  } finally {
    await fx.hub.close();
  }
  console.log(`fuzz: ${total} frames in ${conn} in-process connections`);
  console.log(
    `fuzz: replies ${JSON.stringify(Object.fromEntries([...replyKinds].sort()))}`,
  );
});

test("fuzz: frames over real sockets, several connections at once", async () => {
  const fx = await makeHub({ ...IN_PROCESS, maxFrameBytes: 4 * 1024 * 1024 });
  let total = 0;
  await withServedHub({ hub: fx.hub, accept: FUNCTIONS }, async ({ open }) => {
    const clients: RawSocket[] = [];
    await watchCrashes(async () => {
      const batches = fc.sample(
        fc.array(frameArb, { minLength: 40, maxLength: 40 }),
        { numRuns: 60 },
      );
      // Six connections, ten batches each, all at once.
      await Promise.all(
        [0, 1, 2, 3, 4, 5].map(async (c) => {
          const client = await open();
          clients.push(client);
          for (let b = c; b < batches.length; b += 6) {
            for (const frame of batches[b]) {
              if (typeof frame === "string") client.send(frame);
              else client.socket.send(frame);
            }
            // Replies to calls may overtake each other, so a second echo
            // collects any reply that came after the first one's return.
            const replies = [...await client.drain(), ...await client.drain()];
            assert.ok(replies.length <= batches[b].length);
            for (const reply of replies) {
              checkReply(JSON.stringify(reply), "a real-socket batch");
            }
            total += batches[b].length;
          }
        }),
      );
    });
    // A frame over the limit closes that connection only, with 1009.
    const victim = await open();
    victim.send("x".repeat(5 * 1024 * 1024));
    assert.equal((await victim.closed).code, 1009);
    assert.deepEqual(await clients[0].drain(), []);
  });
  assert.equal(fx.counter.subscriberCount, 0);
  assert.ok(total >= 2000);
  console.log(`fuzz: ${total} frames over 6 real sockets`);
});
