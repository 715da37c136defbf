import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import process from "node:process";
import { Redis } from "ioredis";
import { ORDER_KEY_LUA } from "../stores/redis/scripts.ts";
import {
  isOrderKey,
  ORDER_KEY_DIGITS,
  orderKeyBetween,
  quickOrderKeyBetween,
  sequentialOrderKeys,
} from "../stores/common/order_key.ts";

describe("orderKeyBetween", () => {
  test("starts at a0 and steps the integer part at the ends", () => {
    assert.equal(orderKeyBetween(null, null), "a0");
    assert.equal(orderKeyBetween("a0", null), "a1");
    assert.equal(orderKeyBetween(null, "a0"), "Zz");
    assert.equal(orderKeyBetween("az", null), "b00");
    assert.equal(orderKeyBetween("a0", "a1"), "a0V");
    assert.deepEqual(sequentialOrderKeys(3), ["a0", "a1", "a2"]);
  });

  test("digits are in code-unit order", () => {
    assert.equal([...ORDER_KEY_DIGITS].sort().join(""), ORDER_KEY_DIGITS);
  });

  test("rejects bad input", () => {
    assert.throws(() => orderKeyBetween("a1", "a0"));
    assert.throws(() => orderKeyBetween("a0", "a0"));
    assert.throws(() => orderKeyBetween("a00", null));
    assert.throws(() => orderKeyBetween("!", null));
    assert.equal(isOrderKey("a0V"), true);
    assert.equal(isOrderKey("a"), false);
    assert.equal(isOrderKey(""), false);
    // A character that is no digit, anywhere after the head (ASCII or not).
    assert.equal(isOrderKey("a0-"), false);
    assert.equal(isOrderKey("a0V\u00e9"), false);
    assert.equal(isOrderKey("b1\u{1F600}"), false);
    assert.throws(() => orderKeyBetween("a0 ", null));
    assert.throws(() => orderKeyBetween(null, "a1~"));
  });

  test("appending 100,000 times keeps keys short", () => {
    const keys = sequentialOrderKeys(100_000);
    for (let i = 1; i < keys.length; i++) assert.ok(keys[i - 1] < keys[i]);
    assert.ok(keys.at(-1)!.length <= 4);
    let key = "a0";
    for (let i = 0; i < 100_000; i++) key = orderKeyBetween(null, key);
    assert.ok(key.length <= 4, key);
  });

  test("inserting at one spot grows about one character per five inserts", () => {
    let low = "a0";
    const high = "a1";
    for (let i = 0; i < 60; i++) low = orderKeyBetween(low, high);
    assert.ok(low.length <= 2 + 60 / 5 + 1, low);
  });

  test("always makes a valid key strictly between its neighbours", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.boolean()), {
          minLength: 1,
          maxLength: 200,
        }),
        (steps) => {
          const keys: string[] = [];
          for (const [n, dense] of steps) {
            // dense: keep inserting next to the same key, to grow fractions
            const at = dense ? Math.min(1, keys.length) : n % (keys.length + 1);
            const key = orderKeyBetween(keys[at - 1] ?? null, keys[at] ?? null);
            assert.ok(isOrderKey(key), key);
            if (at > 0) assert.ok(keys[at - 1] < key);
            if (at < keys.length) assert.ok(key < keys[at]);
            keys.splice(at, 0, key);
          }
        },
      ),
    );
  });
});

describe("quickOrderKeyBetween", () => {
  test("answers for a key that is an integer part alone, with orderKeyBetween's key", () => {
    const keys = sequentialOrderKeys(5_000);
    let answered = 0;
    for (let i = 0; i < keys.length - 1; i++) {
      for (const b of [keys[i + 1], null]) {
        const key = quickOrderKeyBetween(keys[i], b);
        // Only a last digit of "z" needs a carry: left to orderKeyBetween.
        if (keys[i].endsWith("z")) assert.equal(key, undefined);
        else {
          assert.equal(key, orderKeyBetween(keys[i], b), `${keys[i]} ${b}`);
          answered++;
        }
      }
    }
    assert.ok(answered > 9_000);
    assert.equal(quickOrderKeyBetween("a0V", "a1"), undefined, "a fraction");
    assert.equal(quickOrderKeyBetween("A" + "0".repeat(26), "A" + "0".repeat(25) + "1"), undefined);
    assert.equal(quickOrderKeyBetween("a!", "a2"), undefined, "not a digit");
  });

  test("where it answers, a valid key strictly between, as orderKeyBetween's unless b starts with a", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.boolean()), { minLength: 1, maxLength: 300 }),
        (steps) => {
          const keys: string[] = [];
          for (const [n, dense] of steps) {
            const at = dense ? Math.min(1, keys.length) : n % (keys.length + 1);
            const [a, b] = [keys[at - 1] ?? null, keys[at] ?? null];
            const full = orderKeyBetween(a, b);
            const quick = a === null ? undefined : quickOrderKeyBetween(a, b);
            if (quick !== undefined) {
              assert.ok(isOrderKey(quick), quick);
              assert.ok(a! < quick && (b === null || quick < b), `${a} < ${quick} < ${b}`);
              if (b === null || !b.startsWith(a!)) assert.equal(quick, full);
            }
            keys.splice(at, 0, quick ?? full);
          }
        },
      ),
    );
  });
});

describe("the Lua port in stores/redis/scripts.ts", () => {
  test("makes the same keys as orderKeyBetween", async (t) => {
    const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", {
      lazyConnect: true,
      connectTimeout: 2000,
      retryStrategy: () => null,
    });
    redis.on("error", () => {});
    try {
      try {
        await redis.connect();
      } catch {
        if (process.env.CI === "true") {
          throw new Error("no Redis for the Lua check");
        }
        console.log("SKIPPED: Lua order key check (no Redis)");
        t.skip("no Redis");
        return;
      }
      // Neighbour pairs from a simulated list: random spots, dense runs, both ends.
      const pairs: [string | null, string | null][] = [];
      const keys: string[] = [];
      let seed = 7;
      const next = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
      for (let i = 0; i < 3000; i++) {
        const roll = next();
        const at = roll < 0.3
          ? 1
          : roll < 0.45
          ? 0
          : roll < 0.6
          ? keys.length
          : Math.floor(next() * (keys.length + 1));
        const spot = Math.min(at, keys.length);
        const pair: [string | null, string | null] = [
          keys[spot - 1] ?? null,
          keys[spot] ?? null,
        ];
        pairs.push(pair);
        keys.splice(spot, 0, orderKeyBetween(...pair));
      }
      for (let i = 0; i < 300; i++) {
        pairs.push([null, pairs.at(-1)![0] ?? "a0"]);
      }
      const script = ORDER_KEY_LUA + `
        local out = {}
        for i = 1, #ARGV, 2 do
          local a, b = ARGV[i], ARGV[i + 1]
          if a == '' then a = nil end
          if b == '' then b = nil end
          out[#out + 1] = between(a, b)
        end
        return out`;
      const lua = await redis.eval(
        script,
        0,
        ...pairs.flatMap(([a, b]) => [a ?? "", b ?? ""]),
      ) as string[];
      assert.deepEqual(lua, pairs.map(([a, b]) => orderKeyBetween(a, b)));
      const edges: [string | null, string | null][] = [
        [null, null],
        ["zzzzzzzzzzzzzzzzzzzzzzzzzzz", null],
        [null, "A00000000000000000000000001"],
        ["Zz", "a0"],
        ["az", "b00"],
        ["a0", "a0V"],
        ["a0z", "a1"],
        [null, "a0V"],
      ];
      const edgeLua = await redis.eval(
        script,
        0,
        ...edges.flatMap(([a, b]) => [a ?? "", b ?? ""]),
      ) as string[];
      assert.deepEqual(edgeLua, edges.map(([a, b]) => orderKeyBetween(a, b)));
    } finally {
      redis.disconnect();
    }
  });
});
