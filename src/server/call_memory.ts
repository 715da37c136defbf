/**
 * The server's memory of call answers: each call marked `once` is applied at
 * most once, and a repeat (the client sends it again after a reconnect) gets
 * the first answer, also while the first run is still going.
 *
 * Bounded: answers are kept for `ttl` ms (default 2 minutes) and at most
 * `maxAnswers` of them (default 10,000) totalling at most `maxBytes`
 * (default 16 MiB); past a bound the oldest are forgotten first, and a
 * repeat of a forgotten call runs again. With a shared {@linkcode CallStore}
 * (Redis, PostgreSQL) the answers are kept there too, with the same TTL, so
 * a repeat that lands on another instance is answered as well.
 *
 * @module
 */
import { ErrorCode, SockSyncError } from "../errors.ts";
import type { CallLedger } from "../peer/call_ledger.ts";
import type { CallStore } from "../store.ts";

/**
 * Options of a {@linkcode CallMemory} (`HubOptions.callMemory`).
 *
 * @example
 * ```ts
 * import type { CallMemoryOptions } from "./call_memory.ts";
 * const options: CallMemoryOptions = { ttl: 60_000, maxAnswers: 1_000 };
 * ```
 */
export interface CallMemoryOptions {
  /** Milliseconds an answer is remembered (default 120,000). */
  ttl?: number;
  /** Answers remembered in this process at most (default 10,000); the oldest go first. */
  maxAnswers?: number;
  /** Characters of answers remembered in this process at most (default 16 MiB). */
  maxBytes?: number;
  /**
   * Milliseconds a repeat waits for a first run on another instance to finish
   * (default 30,000); then it fails with code 8, its result unknown.
   */
  maxWait?: number;
  /** The shared memory of every instance (`store.calls`); without it, this process's only. */
  store?: CallStore;
}

interface Answer {
  readonly text: string;
  readonly until: number;
}

/** How often a repeat looks whether another instance's first run finished. */
const POLL_MS = 50;

/**
 * Remembers call answers in this process, and in a shared store when given.
 */
export class CallMemory implements CallLedger {
  readonly #ttl: number;
  readonly #maxAnswers: number;
  readonly #maxBytes: number;
  readonly #maxWait: number;
  readonly #store: CallStore | undefined;
  // Both created on first use: a hub whose clients never call pays nothing.
  #running: Map<string, Promise<string>> | undefined;
  // In insertion order, which is expiry order (one TTL for all): the oldest first.
  #answers: Map<string, Answer> | undefined;
  #bytes = 0;

  /** @param options TTL, bounds and the shared store */
  constructor(options: CallMemoryOptions = {}) {
    this.#ttl = options.ttl ?? 120_000;
    this.#maxAnswers = options.maxAnswers ?? 10_000;
    this.#maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.#maxWait = options.maxWait ?? 30_000;
    this.#store = options.store;
  }

  /** Answers remembered in this process now. */
  get size(): number {
    return this.#answers?.size ?? 0;
  }

  /** See {@linkcode CallLedger.once}. */
  once(key: string, run: () => Promise<string>): Promise<string> {
    const now = Date.now();
    this.#expire(now);
    const answer = this.#answers?.get(key);
    if (answer) return Promise.resolve(answer.text);
    const running = this.#running?.get(key);
    if (running) return running;
    const runs = this.#running ??= new Map();
    const first = (this.#store ? this.#shared(this.#store, key, run) : run()).then((text) => {
      this.#remember(key, text);
      return text;
    }).finally(() => runs.delete(key));
    runs.set(key, first);
    return first;
  }

  /** Claims the key in the shared store, or waits for the answer of whoever claimed it. */
  async #shared(store: CallStore, key: string, run: () => Promise<string>): Promise<string> {
    const deadline = Date.now() + this.#maxWait;
    for (;;) {
      const { claimed, answer } = await store.claim(key, this.#ttl);
      if (claimed) {
        const text = await run();
        await store.finish(key, text, this.#ttl);
        return text;
      }
      if (answer !== undefined) return answer;
      if (Date.now() >= deadline) {
        throw new SockSyncError(
          ErrorCode.Other,
          "the first run of this call has not finished: its result is unknown",
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  #remember(key: string, text: string): void {
    if (this.#ttl <= 0 || text.length > this.#maxBytes) return;
    const answers = this.#answers ??= new Map();
    answers.set(key, { text, until: Date.now() + this.#ttl });
    this.#bytes += text.length;
    while (answers.size > this.#maxAnswers || this.#bytes > this.#maxBytes) this.#forgetOldest();
  }

  /** Forgets the answers whose TTL passed (they are the oldest). */
  #expire(now: number): void {
    const answers = this.#answers;
    if (!answers) return;
    for (const answer of answers.values()) {
      if (answer.until > now) return;
      this.#forgetOldest();
    }
  }

  #forgetOldest(): void {
    const answers = this.#answers!;
    const [key, answer] = answers.entries().next().value!;
    answers.delete(key);
    this.#bytes -= answer.text.length;
  }
}
