/**
 * The idle sweep (one timer for every connection with the same idle timeout)
 * on its own: a silent member is probed after half the timeout and expired
 * after the whole of it, and the timer wakes only when something is due — a
 * sweep that woke early and re-armed again and again would still probe and
 * expire on time, so the test counts the sweep's looks at the member.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { idleClock, type IdleMember, IdleSweep } from "../src/peer/idle.ts";
import { waitUntil } from "./helpers/wait.ts";

/** A member that notes when it was probed and expired, and counts reads of its last-frame time. */
function member(last: number) {
  let idleLast = last;
  const seen = { reads: 0, probed: -1, expired: -1, probes: 0, expiries: 0 };
  const m: IdleMember = {
    get idleLast() {
      seen.reads++;
      return idleLast;
    },
    set idleLast(value: number) {
      idleLast = value;
    },
    idlePrev: undefined,
    idleNext: undefined,
    idleList: 0,
    probe() {
      seen.probes++;
      seen.probed = idleClock();
    },
    expire() {
      seen.expiries++;
      seen.expired = idleClock();
    },
  };
  return { m, seen, last: () => idleLast };
}

describe("idle sweep", () => {
  test("probes at half the timeout, expires at the whole, and wakes only when something is due", async () => {
    const timeout = 1000;
    const sweep = new IdleSweep(timeout);
    const start = idleClock();
    const { m, seen } = member(start);
    sweep.add(m);
    await waitUntil(() => seen.probes > 0, { what: "the probe" });
    const atProbe = seen.reads;
    await waitUntil(() => seen.expiries > 0, { what: "the expiry" });
    const betweenProbeAndExpiry = seen.reads - atProbe;
    assert.deepEqual([seen.probes, seen.expiries], [1, 1]);
    assert.ok(seen.probed - start >= timeout / 2, `probed after ${seen.probed - start} ms`);
    assert.ok(seen.expired - start >= timeout, `expired after ${seen.expired - start} ms`);
    // One sweep at the expiry looks at the member twice at most (more if a timer fires a little
    // early and the sweep re-arms once); a timer re-armed every millisecond looks hundreds of times.
    assert.ok(atProbe <= 10, `${atProbe} looks before the probe`);
    assert.ok(betweenProbeAndExpiry <= 10, `${betweenProbeAndExpiry} looks from probe to expiry`);
    sweep.remove(m);
  });

  test("a frame after the probe starts the silence again: probed again, not expired", async () => {
    const timeout = 600;
    const sweep = new IdleSweep(timeout);
    const { m, seen, last } = member(idleClock());
    sweep.add(m);
    try {
      await waitUntil(() => seen.probes === 1, { what: "the first probe" });
      const answered = idleClock();
      sweep.touch(m, answered);
      assert.equal(last(), answered);
      await waitUntil(() => seen.probes === 2, { what: "the second probe" });
      assert.equal(seen.expiries, 0, "an answered probe does not expire the member");
      assert.ok(seen.probed - answered >= timeout / 2, "the silence counted from the answer");
      await waitUntil(() => seen.expiries === 1, { what: "the expiry after the second probe" });
      assert.ok(seen.expired - answered >= timeout);
    } finally {
      sweep.remove(m);
    }
  });

  /**
   * A member of a sweep with a 400 ms timeout, probed once, then a stall of
   * this process past the whole timeout (its answers would wait unread in the
   * socket meanwhile); `check` runs after the stall, the member removed after.
   */
  async function throughStall(
    check: (
      fx: ReturnType<typeof member> & { sweep: IdleSweep; stallEnd: number },
    ) => Promise<void>,
  ) {
    const timeout = 400;
    const sweep = new IdleSweep(timeout);
    const fx = member(idleClock());
    sweep.add(fx.m);
    try {
      await waitUntil(() => fx.seen.probes === 1, { what: "the probe" });
      const stallEnd = idleClock() + 2 * timeout;
      while (idleClock() < stallEnd) { /* a long synchronous task */ }
      await check({ ...fx, sweep, stallEnd });
    } finally {
      sweep.remove(fx.m);
    }
  }

  test("after this process stalls, a probed member is not closed before it had half a timeout to answer", async () => {
    await throughStall(async ({ m, seen, sweep }) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(seen.expiries, 0, "closed for a silence that was the process's own");
      const answered = idleClock();
      sweep.touch(m, answered);
      await waitUntil(() => seen.probes === 2, { what: "the probe after the answer" });
      assert.equal(seen.expiries, 0);
      // A member that stays silent after the stall is still closed.
      await waitUntil(() => seen.expiries === 1, { what: "the expiry" });
      assert.ok(seen.expired - answered >= 400, `expired ${seen.expired - answered} ms after`);
    });
  });

  test("a member silent through a stall is closed only if it stays silent half a timeout after it", async () => {
    await throughStall(async ({ seen, stallEnd }) => {
      await waitUntil(() => seen.expiries === 1, { what: "the expiry after the stall" });
      assert.ok(
        seen.expired - stallEnd >= 195,
        `expired ${seen.expired - stallEnd} ms after the stall`,
      );
    });
  });
});
