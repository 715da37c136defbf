/**
 * The idle probe of every connection with the same `idleTimeout`, run by one
 * timer instead of one per connection: a server holds many idle connections,
 * and a timer each is memory a raw WebSocket server does not spend.
 *
 * Members sit in two lists ordered by their last frame: those not probed
 * yet, and those probed. A frame moves its member to the end of the first
 * list, so each list's head is always the next one due; the timer fires when
 * the earlier head is due (half the timeout after its last frame: probe; the
 * whole timeout: close), exactly as a timer per connection would.
 *
 * A sweep that runs late means this process stalled (a long task, a GC
 * pause, a throttled background tab): the frames its members sent meanwhile
 * may be waiting unread, so nobody is closed for a silence that was ours;
 * members are probed as usual and closed only if they stay silent for half
 * a timeout after the stall.
 *
 * @module
 */
import { timerDelay } from "./limits.ts";

/**
 * A connection watched for silence: the sweep keeps its last-frame time and
 * its place in the lists in these fields.
 */
export interface IdleMember {
  /** When its last frame arrived (by {@linkcode idleClock}). */
  idleLast: number;
  /** The member before it in its list. */
  idlePrev: IdleMember | undefined;
  /** The member after it in its list. */
  idleNext: IdleMember | undefined;
  /** 0: in no list, 1: not probed yet, 2: probed. */
  idleList: 0 | 1 | 2;
  /** Half the timeout passed in silence: send the probe. */
  probe(): void;
  /** The whole timeout passed in silence: close. */
  expire(): void;
}

interface List {
  head: IdleMember | undefined;
  tail: IdleMember | undefined;
}

const sweeps = new Map<number, IdleSweep>();
let last: IdleSweep | undefined;

// Times are kept relative to this module's start: a small integer is stored in its field as it
// is, where a time since 1970 is a number allocated per connection on V8.
const EPOCH = Date.now();

/**
 * Milliseconds since this module started: the clock of {@linkcode IdleMember.idleLast}.
 */
export function idleClock(): number {
  return Date.now() - EPOCH;
}

/**
 * One timer for every connection with the same idle timeout.
 */
export class IdleSweep {
  readonly #timeout: number;
  readonly #quiet: List = { head: undefined, tail: undefined };
  readonly #probed: List = { head: undefined, tail: undefined };
  #timer: ReturnType<typeof setTimeout> | undefined;
  #due = Infinity;
  // After a stall, no member is closed before this time.
  #graceUntil = 0;

  /** The sweep of every connection whose idle timeout is `timeout` ms. */
  static of(timeout: number): IdleSweep {
    // Asked on every frame: nearly always the one sweep of the process.
    if (last !== undefined && last.#timeout === timeout) return last;
    let sweep = sweeps.get(timeout);
    if (!sweep) sweeps.set(timeout, sweep = new IdleSweep(timeout));
    return last = sweep;
  }

  /** @param timeout the idle timeout in ms (finite, above 0) */
  constructor(timeout: number) {
    this.#timeout = timeout;
  }

  /** Starts watching a member, silent since its `idleLast`. */
  add(member: IdleMember): void {
    if (member.idleList !== 0) return;
    this.#append(this.#quiet, member, 1);
    this.#arm(member.idleLast + this.#timeout / 2);
  }

  /** A frame arrived at `now`: the member's silence starts again. */
  touch(member: IdleMember, now: number): void {
    member.idleLast = now;
    if (member.idleList === 0 || (member.idleList === 1 && this.#quiet.tail === member)) return;
    this.#unlink(member);
    this.#append(this.#quiet, member, 1);
  }

  /** Stops watching a member; the timer stops with the last one. */
  remove(member: IdleMember): void {
    if (member.idleList === 0) return;
    this.#unlink(member);
    if (!this.#quiet.head && !this.#probed.head && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#due = Infinity;
    }
  }

  #append(list: List, member: IdleMember, which: 1 | 2): void {
    member.idleList = which;
    member.idlePrev = list.tail;
    member.idleNext = undefined;
    if (list.tail) list.tail.idleNext = member;
    else list.head = member;
    list.tail = member;
  }

  #unlink(member: IdleMember): void {
    const list = member.idleList === 1 ? this.#quiet : this.#probed;
    if (member.idlePrev) member.idlePrev.idleNext = member.idleNext;
    else list.head = member.idleNext;
    if (member.idleNext) member.idleNext.idlePrev = member.idlePrev;
    else list.tail = member.idlePrev;
    member.idlePrev = member.idleNext = undefined;
    member.idleList = 0;
  }

  /** Makes sure the timer fires by `due`. */
  #arm(due: number): void {
    if (this.#timer !== undefined && this.#due <= due) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#due = due;
    this.#timer = setTimeout(() => this.#sweep(), timerDelay(Math.max(due - idleClock(), 1)));
  }

  #sweep(): void {
    const timeout = this.#timeout;
    const now = idleClock();
    if (now - this.#due > timeout / 4) this.#graceUntil = now + timeout / 2;
    this.#timer = undefined;
    this.#due = Infinity;
    let member: IdleMember | undefined;
    while (
      now >= this.#graceUntil && (member = this.#probed.head) && now - member.idleLast >= timeout
    ) {
      this.#unlink(member);
      member.expire();
    }
    while ((member = this.#quiet.head) && now - member.idleLast >= timeout / 2) {
      this.#unlink(member);
      this.#append(this.#probed, member, 2);
      member.probe();
    }
    const quiet = this.#quiet.head;
    const probed = this.#probed.head;
    const due = Math.min(
      quiet ? quiet.idleLast + timeout / 2 : Infinity,
      probed ? Math.max(probed.idleLast + timeout, this.#graceUntil) : Infinity,
    );
    if (due < Infinity) this.#arm(due);
  }
}
