/**
 * The command connection's timeout: one timer for every command in flight,
 * instead of ioredis' `commandTimeout`, which arms and clears a timer per
 * command (≈ 1.5 µs of each call's latency, four per page).
 *
 * @module
 */

/** Something in flight: settled once answered, failed when it takes too long. */
export interface InFlight {
  /** Set once the reply (or an error) arrived. */
  settled: boolean;
  /** Fails it now; harmless once settled. */
  fail(error: Error): void;
}

/**
 * Fails whatever a connection has had in flight for longer than `ms`. A
 * connection answers in the order it was sent to, so the oldest entry is the
 * first to look at: entries are dropped from the front once settled, and one
 * timer, armed for the oldest, is enough.
 */
export class Deadlines {
  readonly #ms: number;
  // In the order sent; `#head` is the first not yet dropped.
  #queue: InFlight[] = [];
  #sent: number[] = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** @param ms how long a command may take */
  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Watches `entry` from now on. */
  add(entry: InFlight): void {
    this.#drop();
    this.#queue.push(entry);
    this.#sent.push(performance.now());
    this.#timer ??= this.#arm(this.#ms);
  }

  /** Stops the timer (the store closed; its connections fail what is left). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // Drops settled entries from the front; compacts the arrays now and then.
  #drop(): void {
    const queue = this.#queue;
    let head = this.#head;
    while (head < queue.length && queue[head].settled) head++;
    if (head === queue.length) {
      queue.length = 0;
      this.#sent.length = 0;
      head = 0;
    } else if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      this.#sent.splice(0, head);
      head = 0;
    }
    this.#head = head;
  }

  #arm(delay: number): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => this.#check(), delay);
    // (Node and Bun: a timer of its own must not keep the process alive.)
    (timer as { unref?: () => void }).unref?.();
    return timer;
  }

  // Fails the entries older than the timeout, then waits for the next oldest.
  #check(): void {
    this.#timer = undefined;
    const now = performance.now();
    const queue = this.#queue;
    const sent = this.#sent;
    let head = this.#head;
    for (; head < queue.length; head++) {
      if (queue[head].settled) continue;
      if (now - sent[head] < this.#ms) break;
      queue[head].fail(new Error("Command timed out"));
    }
    this.#head = head;
    this.#drop();
    if (this.#head < queue.length) {
      this.#timer = this.#arm(Math.max(1, sent[this.#head] + this.#ms - now));
    }
  }
}
