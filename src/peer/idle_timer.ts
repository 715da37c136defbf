/**
 * The idle probe of a single connection (a client's): one timer of its own,
 * where a server shares one sweep among all its connections
 * (src/peer/idle.ts). The same rules: half the idle timeout after the last
 * frame, probe; the whole timeout after it, with no frame since, close; and
 * a timer that wakes late means this process stalled (a throttled background
 * tab, a long task), so nobody is closed until half a timeout after the
 * stall, when the frames that waited unread have been read.
 *
 * @module
 */
import { idleClock, type IdleMember, type IdleWatch } from "./idle.ts";
import { timerDelay } from "./limits.ts";

/** What the timer reads and calls of its one member: no list links or list, it keeps no list. */
export type TimedMember = Pick<IdleMember, "idleLast" | "probe" | "expire">;

/** Watches one member for silence with a timer that wakes only when something may be due. */
export class IdleTimer implements IdleWatch {
  readonly #timeout: number;
  #member: TimedMember | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  // The last-frame time the probe was sent for: probed until a later frame arrives.
  #probed: number | undefined;
  // When the timer is due, and, after a stall, the time before which nobody is closed.
  #due = 0;
  #graceUntil = 0;

  /**
   * @param member the connection, silent since its `idleLast`
   * @param timeout the idle timeout in ms (finite, above 0)
   */
  constructor(member: TimedMember, timeout: number) {
    this.#member = member;
    this.#timeout = timeout;
    this.#arm(member.idleLast + timeout / 2);
  }

  /** A frame arrived at `now`: read when the timer wakes, so nothing is rescheduled per frame. */
  touch(member: TimedMember, now: number): void {
    member.idleLast = now;
  }

  /** Stops the timer. */
  remove(_member: TimedMember): void {
    clearTimeout(this.#timer);
    this.#member = undefined;
  }

  /** Wakes at `at`, or in 1 ms if that is past. */
  #arm(at: number): void {
    const now = idleClock();
    const wait = Math.max(at - now, 1);
    this.#due = now + wait;
    this.#timer = setTimeout(() => this.#wake(), timerDelay(wait));
  }

  #wake(): void {
    const member = this.#member;
    if (!member) return;
    const timeout = this.#timeout;
    const now = idleClock();
    if (now - this.#due > timeout / 4) this.#graceUntil = now + timeout / 2;
    const last = member.idleLast;
    // Probed: due at the whole timeout, and not before the grace after a stall ends.
    const expiry = Math.max(last + timeout, this.#graceUntil);
    if (this.#probed !== last) {
      if (now < last + timeout / 2) return this.#arm(last + timeout / 2);
      this.#probed = last;
      member.probe();
    } else if (now >= expiry) {
      this.remove(member);
      return member.expire();
    }
    this.#arm(expiry);
  }
}
