/**
 * Test support for the scale-out tests: three demo server processes (Deno,
 * Bun, Node) on one shared store, each behind a TCP forwarder standing in for
 * a load balancer, clients on every instance mirroring the counter, a page of
 * the todos and (when the chat is shared) a page of one chat room, checked
 * against the store after every random change (the checks every store shares
 * are in `scale_out_checks.ts`).
 *
 * @module
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { connect as tcpConnect, createServer, type Socket } from "node:net";
import process from "node:process";
import { type Client, connect, type ListView } from "../../src/client/client.ts";
import { detectRuntime } from "../../src/serve/serve.ts";
import type { VarMirror } from "../../src/client/mirror.ts";
import type { Store } from "../../src/store.ts";
import type { MessageValue } from "../../demo/chat_schema.ts";
import { webSocketClass } from "./raw_socket.ts";
import { type ServerRuntime, type SpawnedServer, spawnServer } from "./spawn_server.ts";
import { waitUntil } from "./wait.ts";
import { random } from "../../src/testing/kit.ts";

/** A todo of the demo. */
export interface Todo {
  text: string;
  done: boolean;
}

/** The runtimes of instances 0, 1 and 2. */
export const RUNTIMES: ServerRuntime[] = ["deno", "bun", "node"];
/** The views the clients of each instance open: page and page size. */
const VIEWS = [
  { page: 0, pageSize: 3 },
  { page: 1, pageSize: 2 },
  { page: 2, pageSize: 4 },
];
/** The chat room every mirror shows a page of. */
export const ROOM = "lobby";

/**
 * Why a scale-out test cannot run here (`false`: it can). It spawns all
 * three runtimes itself, so it runs under Node only; `missing` names what
 * else is absent. A skip is printed, or under CI=true (on Node) a failing
 * test named `required` is registered.
 */
export function scaleOutSkip(required: string, missing: () => string | false): string | false {
  const skip = detectRuntime() !== "node"
    ? `runs under Node only: it spawns the Deno, Bun and Node servers itself (this is ${detectRuntime()})`
    : missing();
  if (skip) {
    if (process.env.CI === "true" && detectRuntime() === "node") {
      test(`${required} (CI=true)`, () => assert.fail(skip));
    } else console.log(`SKIPPED: scale-out test (${skip})`);
  }
  return skip;
}

/**
 * A TCP forwarder standing in for a load balancer: each new connection goes
 * to the port `target()` names at that moment, so clients that lose their
 * instance reconnect to another one without knowing.
 */
export async function startBalancer(target: () => number) {
  const sockets = new Set<Socket>();
  const server = createServer((downstream) => {
    const upstream = tcpConnect(target(), "127.0.0.1");
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    }
    downstream.pipe(upstream).pipe(downstream);
    downstream.on("close", () => upstream.destroy());
    upstream.on("close", () => downstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}/ws/socksync`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One mirroring client: a counter mirror, one todos view and maybe one chat view. */
export interface Mirrors {
  instance: number;
  client: Client;
  counter: VarMirror<number>;
  view: ListView<Todo>;
  chat: ListView<MessageValue> | undefined;
  /** Every counter value the mirror showed, in order. */
  seen: number[];
}

/** A page of a chat room as the database holds it, newest first. */
export type ChatTruth = (
  offset: number,
  limit: number,
) => Promise<{ items: { id: string; value: MessageValue }[]; total: number }>;

/** What a scale-out test sets up. */
export interface ScaleOutOptions {
  /** `SOCKSYNC_STORE` of every instance. */
  store: string;
  /** Opens a store on the same data, to check the mirrors against. */
  openTruth(): Promise<Store>;
  /** The chat room's rows, when the instances share the chat. */
  chat?: ChatTruth;
}

/** Three instances, their clients, and the checks that every store shares. */
export interface ScaleOut {
  seed: number;
  rand(): number;
  pick<T>(items: T[]): T;
  servers: SpawnedServer[];
  /** Whether each instance is alive (the balancers skip dead ones). */
  alive: boolean[];
  mirrors: Mirrors[];
  /** The client each instance's changes are made through. */
  drivers: Client[];
  /** The store the mirrors are checked against. */
  store: Store;
  /** Waits until every mirror equals the store (default: within 15 s). */
  converge(what: string, timeout?: number): Promise<void>;
  /** One random change through instance `i`, then {@linkcode ScaleOut.converge}. */
  change(i: number): Promise<void>;
}

/**
 * Starts the instances and their clients, runs `body`, and stops everything.
 */
export async function withScaleOut(
  t: TestContext,
  options: ScaleOutOptions,
  body: (s: ScaleOut) => Promise<void>,
): Promise<void> {
  const seed = Number(process.env.SCALE_OUT_SEED) ||
    Math.floor(Math.random() * 2 ** 31);
  const rand = random(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)];
  t.diagnostic(`seed ${seed} (replay with SCALE_OUT_SEED=${seed})`);

  const WebSocket = await webSocketClass();
  const servers: SpawnedServer[] = [];
  const alive = [true, true, true];
  const balancers: { url: string; close: () => Promise<void> }[] = [];
  const mirrors: Mirrors[] = [];
  let truth: Store | undefined;
  try {
    servers.push(
      ...await Promise.all(
        RUNTIMES.map((runtime) =>
          spawnServer({ runtime, env: { SOCKSYNC_STORE: options.store }, timeout: 60_000 })
        ),
      ),
    );
    for (let i = 0; i < servers.length; i++) {
      // Instance i, or the next one alive once it is gone.
      balancers.push(
        await startBalancer(() => {
          for (let k = 0; k < servers.length; k++) {
            const j = (i + k) % servers.length;
            if (alive[j]) return servers[j].port;
          }
          return servers[i].port;
        }),
      );
    }
    truth = await options.openTruth();
    const store = truth;
    for (let i = 0; i < servers.length; i++) {
      for (let k = 0; k < VIEWS.length; k++) {
        const client = connect(balancers[i].url, {
          WebSocket,
          reconnect: { minDelay: 50, maxDelay: 300 },
        });
        const counter = client.var<number>("counter");
        const seen: number[] = [];
        counter.onChange(() => seen.push(counter.value!));
        const view = client.list<Todo>("todos", VIEWS[(i + k) % VIEWS.length]);
        const chat = options.chat
          ? client.list<MessageValue>("messages", {
            ...VIEWS[(i + k + 1) % VIEWS.length],
            params: { room: ROOM },
          })
          : undefined;
        mirrors.push({ instance: i, client, counter, view, chat, seen });
      }
    }
    const drivers = servers.map((_, i) => mirrors.find((m) => m.instance === i)!.client);

    /** Whether a view shows exactly its page of `page`; else a description. */
    const differs = <T>(
      view: ListView<T>,
      page: { items: unknown[]; total: number },
    ): string | undefined => {
      const size = view.pageSize!;
      const last = page.total === 0 ? 0 : Math.ceil(page.total / size) - 1;
      if (
        !view.ready || view.total !== page.total || view.page > last ||
        JSON.stringify(view.items) !== JSON.stringify(page.items)
      ) {
        const ids = (items: unknown[]) =>
          JSON.stringify(items.map((i) => (i as { id: string }).id));
        return `page ${view.page}×${size} total ${view.total} ${
          ids(view.items)
        }, store total ${page.total} ${ids(page.items)}`;
      }
      return undefined;
    };
    /** Whether every mirror equals the store; else a description of the first that does not. */
    const mismatch = async (): Promise<string | undefined> => {
      const counter = (await store.vars.get("counter") ?? 0) as number;
      const list = store.list<Todo>("todos");
      for (const [n, m] of mirrors.entries()) {
        const where = `mirror ${n} (instance ${m.instance}, ${RUNTIMES[m.instance]})`;
        if (!m.client.connected) return `${where} is not connected`;
        if (!m.counter.ready || m.counter.value !== counter) {
          return `${where}: counter ${m.counter.value}, store ${counter}`;
        }
        const size = m.view.pageSize!;
        const todos = differs(m.view, await list.page(m.view.page * size, size));
        if (todos) return `${where}: todos ${todos}`;
        if (m.chat && options.chat) {
          const size = m.chat.pageSize!;
          const chat = differs(m.chat, await options.chat(m.chat.page * size, size));
          if (chat) return `${where}: chat ${chat}`;
        }
      }
      return undefined;
    };
    const converge = async (what: string, timeout = 15_000) => {
      let last: string | undefined;
      try {
        // A read of the store may fail while it is coming back: that is a mismatch too.
        const check = async () =>
          (last = await mismatch().catch((error) => `reading the store: ${error.message}`)) ===
            undefined;
        await waitUntil(check, { what, timeout });
      } catch (error) {
        throw new Error(`${(error as Error).message}: ${last}`);
      }
    };

    const chatChange = async (driver: Client): Promise<string> => {
      const { items } = await options.chat!(0, 1000);
      const roll = rand();
      if (roll < 0.5 || items.length < 3) {
        const text = `m${seed % 1000}-${items.length}`;
        await driver.call("post_message", { room: ROOM, text, author: "scale" });
        return `post "${text}"`;
      }
      const { id } = pick(items);
      if (roll < 0.75) {
        await driver.call("edit_message", { id, text: `edited ${rand().toFixed(3)}` });
        return `edit message ${id}`;
      }
      await driver.call("delete_message", { id });
      return `delete message ${id}`;
    };

    /** One random change through instance `i`, checked against the store after it. */
    const change = async (i: number) => {
      const list = store.list<Todo>("todos");
      const { items, total } = await list.page(0, 1000);
      const driver = drivers[i];
      let what: string;
      if (options.chat && rand() < 0.3) {
        what = await chatChange(driver);
      } else {
        const roll = rand();
        if (roll < 0.15) {
          const by = 1 + Math.floor(rand() * 5);
          await driver.call("increment", { by });
          what = `increment by ${by}`;
        } else if (roll < 0.55 || total < 3) {
          const index = Math.floor(rand() * (total + 1));
          await driver.call("add_todo", { text: `t${seed % 1000}-${index}`, index });
          what = `add at ${index}`;
        } else if (roll < 0.75) {
          const { id } = pick(items);
          await driver.call("toggle_todo", { id });
          what = `toggle ${id}`;
        } else {
          const { id } = pick(items);
          await driver.call("delete_todo", { id });
          what = `delete ${id}`;
        }
      }
      await converge(`every mirror after "${what}" through ${RUNTIMES[i]}`);
    };

    await body({
      seed,
      rand,
      pick,
      servers,
      alive,
      mirrors,
      drivers,
      store,
      converge,
      change,
    });
  } finally {
    for (const m of mirrors) m.client.close();
    for (const balancer of balancers) await balancer.close();
    await Promise.all(servers.map((server) => server.stop()));
    await truth?.close();
  }
}
