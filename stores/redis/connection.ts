/**
 * What a Redis store's lists and vars share: the command connection, the
 * scripts it runs, the key prefix, the channel changes go out on and the
 * feed that listens to it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Command, Redis } from "ioredis";
import { nanoid } from "nanoid";
import { storeClosed, storeError } from "../common/store_errors.ts";
import { Deadlines, type InFlight } from "./deadlines.ts";
import { Feed } from "./feed.ts";
import {
  DELETE_LUA,
  INDEX_OF_LUA,
  INSERT_LUA,
  PAGE_LUA,
  SET_LUA,
  SET_VAR_LUA,
  UPDATE_VAR_LUA,
} from "./scripts.ts";

/**
 * A script of the store: its text and SHA-1, sent with EVALSHA (EVAL when
 * Redis lost it) without ioredis' per-call script wrapper.
 */
export class Script {
  readonly lua: string;
  readonly sha: string;
  readonly keys: number;

  /**
   * @param lua the script
   * @param keys how many of its arguments are keys
   */
  constructor(lua: string, keys: number) {
    this.lua = lua;
    this.keys = keys;
    this.sha = createHash("sha1").update(lua).digest("hex");
  }
}

/**
 * The store's scripts (KEYS: a list's items, entries and version, the items
 * and version for a page, the items and entries for indexOf; or the vars
 * hash and counter).
 */
export const SCRIPTS = {
  insert: new Script(INSERT_LUA, 3),
  set: new Script(SET_LUA, 3),
  delete: new Script(DELETE_LUA, 3),
  page: new Script(PAGE_LUA, 2),
  indexOf: new Script(INDEX_OF_LUA, 2),
  setVar: new Script(SET_VAR_LUA, 2),
  updateVar: new Script(UPDATE_VAR_LUA, 2),
} as const;

const noScript = (error: unknown) => error instanceof Error && error.message.startsWith("NOSCRIPT");

/** ioredis' command class, from the driver the store loaded. */
export type CommandClass = typeof Command;

/** A command's name and arguments (numbers are sent as their text). */
export type CommandLine = [name: string, args: (string | number)[]];

// Replies as strings, as ioredis' methods return them.
const UTF8 = { replyEncoding: "utf8" } as const;

// The last command of a write, watched by the deadlines: replies come in
// order, so it settles after the others.
class Sent implements InFlight {
  readonly command: Command;
  failed = false;

  constructor(command: Command) {
    this.command = command;
  }

  get settled(): boolean {
    return this.failed || this.command.isResolved;
  }

  fail(error: Error): void {
    this.failed = true;
    this.command.reject(error);
  }
}

// Something in flight that is not one of the store's own Command objects.
class Awaited implements InFlight {
  settled = false;
  readonly fail: (error: Error) => void;

  constructor(fail: (error: Error) => void) {
    this.fail = fail;
  }
}

/**
 * The command connection of one store, with its scripts and names.
 */
export class Connection {
  /** This store object's id: var messages it published itself are not reported back. */
  readonly source: string = nanoid();
  /** The channel every change is published on. */
  readonly channel: string;
  /** Set by the store's `close`: every later command fails with code 8. */
  closed = false;

  readonly client: Redis;
  readonly feed: Feed;
  readonly prefix: string;
  readonly timeoutMs: number;
  /** Fails a command Redis has not answered within `timeoutMs`. */
  readonly deadlines: Deadlines;
  readonly #Command: CommandClass;

  /**
   * @param client the command connection (without ioredis' `commandTimeout`: {@linkcode deadlines} times its commands)
   * @param subscriber the subscriber connection, listening while the store has listeners
   * @param prefix prepended to every key and to the channel
   * @param timeoutMs how long a command may take, and a mutation waits for its own change to come back
   * @param command ioredis' `Command` class
   */
  constructor(
    client: Redis,
    subscriber: Redis,
    prefix: string,
    timeoutMs: number,
    command: CommandClass,
  ) {
    this.client = client;
    this.prefix = prefix;
    this.timeoutMs = timeoutMs;
    this.channel = `${prefix}changes`;
    this.feed = new Feed(subscriber, this.channel);
    this.deadlines = new Deadlines(timeoutMs);
    this.#Command = command;
  }

  /**
   * Runs a command; every failure becomes a code 8 `SockSyncError`. While the
   * feed is subscribing, waits for it (a listener was just added: what it
   * reads next must not miss a change made meanwhile).
   */
  async run<R>(command: (client: Redis) => Promise<R>): Promise<R> {
    if (this.feed.starting) await this.feed.starting;
    if (this.closed) throw storeClosed();
    try {
      return await this.guard(command(this.client));
    } catch (error) {
      throw storeError(error);
    }
  }

  /** `reply`, failed with "Command timed out" when it takes longer than `timeoutMs`. */
  guard<R>(reply: Promise<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const entry = new Awaited(reject);
      this.deadlines.add(entry);
      reply.then((value) => {
        entry.settled = true;
        resolve(value);
      }, (error) => {
        entry.settled = true;
        reject(error);
      });
    });
  }

  /**
   * Sends `commands` in one write and resolves with their replies (strings,
   * numbers, arrays); a failure becomes a code 8 `SockSyncError`. Each is
   * one ioredis `Command`, sent without ioredis' per-command method and
   * timer; the deadlines watch the last one. Waits for the feed as
   * {@linkcode run} does.
   */
  send(commands: CommandLine[]): Promise<unknown[]> {
    if (this.feed.starting) return this.feed.starting.then(() => this.send(commands));
    if (this.closed) return Promise.reject(storeClosed());
    const client = this.client;
    const replies: Promise<unknown>[] = [];
    const stream = client.stream;
    stream?.cork();
    let last: Command | undefined;
    try {
      for (const [name, args] of commands) {
        last = new this.#Command(name, args, UTF8);
        replies.push(client.sendCommand(last) as Promise<unknown>);
      }
    } finally {
      stream?.uncork();
    }
    const sent = new Sent(last!);
    this.deadlines.add(sent);
    return Promise.all(replies).catch((error) => {
      sent.failed = true;
      throw storeError(error);
    });
  }

  /**
   * Runs one of the store's scripts: `args` are its keys, then its arguments.
   * EVALSHA, and EVAL when Redis does not hold the script (first use, or
   * after a restart). Waits for the feed as {@linkcode run} does.
   */
  script(script: Script, args: (string | number)[]): Promise<unknown> {
    if (this.feed.starting) return this.feed.starting.then(() => this.script(script, args));
    if (this.closed) return Promise.reject(storeClosed());
    // One array, flattened by ioredis (numbers are sent as their text); no
    // async frame of its own, as every operation of a list passes here.
    const command = new this.#Command("evalsha", [script.sha, script.keys, args], UTF8);
    const sent = new Sent(command);
    this.deadlines.add(sent);
    return (this.client.sendCommand(command) as Promise<unknown>).catch((error) => {
      sent.failed = true;
      if (!noScript(error)) throw storeError(error);
      return this.guard(this.client.eval(script.lua, script.keys, ...args)).catch((error) => {
        throw storeError(error);
      });
    });
  }

  /** A list's keys: items (sorted set), entries (id → member), version (counter). */
  listKeys(name: string): [string, string, string] {
    const base = `${this.prefix}list:${name}:`;
    return [`${base}items`, `${base}entries`, `${base}version`];
  }
}
