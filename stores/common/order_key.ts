/**
 * Fractional order keys: strings that sort (by plain code-unit comparison, as
 * SQLite's BINARY collation and Redis' lexicographic ranges do) in list order,
 * so that an item can be inserted between two others by making one new key,
 * without renumbering anything.
 *
 * A key is an "integer part" (a head letter that encodes its length, then
 * base-62 digits) followed by an optional fraction that never ends in `0`.
 * Appending or prepending steps the integer part, so keys grow only
 * logarithmically; inserting again and again at the same spot grows the
 * fraction by about one character per six inserts, which is what
 * {@linkcode ORDER_KEY_REBALANCE_LENGTH} and {@linkcode sequentialOrderKeys}
 * are for. (The scheme is David Greenspan's "fractional-indexing".)
 *
 * `stores/redis/scripts.ts` holds a Lua port of {@linkcode orderKeyBetween};
 * the two must stay in step (tests/order_key_test.ts compares them).
 *
 * @module
 */

/**
 * The 62 digits in code-unit order.
 */
export const ORDER_KEY_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * Keys longer than this are a sign of many inserts at one spot: a store that
 * makes one should give the whole list fresh keys ({@linkcode sequentialOrderKeys}).
 */
export const ORDER_KEY_REBALANCE_LENGTH = 96;

const ZERO = ORDER_KEY_DIGITS[0];
const LAST = ORDER_KEY_DIGITS[ORDER_KEY_DIGITS.length - 1];
// "A" followed by 26 zeros is the smallest integer part: nothing sorts before it.
const SMALLEST_INTEGER = "A" + ZERO.repeat(26);

// Each digit's value by its character code (-1: not a digit): a table
// lookup instead of searching the digits (keys are checked on every insert).
const DIGIT_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ORDER_KEY_DIGITS.length; i++) DIGIT_VALUES[ORDER_KEY_DIGITS.charCodeAt(i)] = i;

function digitValue(code: number): number {
  return code < 128 ? DIGIT_VALUES[code] : -1;
}

function digit(char: string | undefined): number {
  const value = char?.length === 1 ? digitValue(char.charCodeAt(0)) : -1;
  if (value < 0) throw new Error(`invalid order key digit ${char}`);
  return value;
}

// A fraction strictly between `a` and `b` (b === null: above everything).
function midpoint(a: string, b: string | null): string {
  if (b !== null) {
    let n = 0;
    while ((a[n] ?? ZERO) === b[n]) n++;
    if (n > 0) return b.slice(0, n) + midpoint(a.slice(n), b.slice(n));
  }
  const digitA = a ? digit(a[0]) : 0;
  const digitB = b !== null ? digit(b[0]) : ORDER_KEY_DIGITS.length;
  if (digitB - digitA > 1) {
    return ORDER_KEY_DIGITS[Math.round((digitA + digitB) / 2)];
  }
  if (b !== null && b.length > 1) return b.slice(0, 1);
  return ORDER_KEY_DIGITS[digitA] + midpoint(a.slice(1), null);
}

function integerLength(head: string): number {
  if (head >= "a" && head <= "z") return head.charCodeAt(0) - 97 + 2;
  if (head >= "A" && head <= "Z") return 90 - head.charCodeAt(0) + 2;
  throw new Error(`invalid order key head ${head}`);
}

function integerPart(key: string): string {
  const length = integerLength(key[0]);
  if (length > key.length) throw new Error(`invalid order key ${key}`);
  return key.slice(0, length);
}

/**
 * Whether a string is a well-formed order key.
 */
export function isOrderKey(key: string): boolean {
  try {
    if (key === SMALLEST_INTEGER) return false;
    const integer = integerPart(key);
    for (let i = 1; i < key.length; i++) {
      if (digitValue(key.charCodeAt(i)) < 0) return false;
    }
    return !key.slice(integer.length).endsWith(ZERO);
  } catch {
    return false;
  }
}

function step(integer: string, up: boolean): string | null {
  // Most steps change the last digit alone: no carry, no array.
  const last = digitValue(integer.charCodeAt(integer.length - 1));
  if (integer.length > 1 && last >= 0 && (up ? last < ORDER_KEY_DIGITS.length - 1 : last > 0)) {
    return integer.slice(0, -1) + ORDER_KEY_DIGITS[last + (up ? 1 : -1)];
  }
  const head = integer[0];
  const digits = integer.slice(1).split("");
  let carry = true;
  for (let i = digits.length - 1; carry && i >= 0; i--) {
    const value = digit(digits[i]) + (up ? 1 : -1);
    if (value === ORDER_KEY_DIGITS.length) digits[i] = ZERO;
    else if (value === -1) digits[i] = LAST;
    else {
      digits[i] = ORDER_KEY_DIGITS[value];
      carry = false;
    }
  }
  if (!carry) return head + digits.join("");
  if (up) {
    if (head === "Z") return "a" + ZERO;
    if (head === "z") return null;
    const next = String.fromCharCode(head.charCodeAt(0) + 1);
    if (next > "a") digits.push(ZERO);
    else digits.pop();
    return next + digits.join("");
  }
  if (head === "a") return "Z" + LAST;
  if (head === "A") return null;
  const next = String.fromCharCode(head.charCodeAt(0) - 1);
  if (next < "Z") digits.push(LAST);
  else digits.pop();
  return next + digits.join("");
}

function check(key: string | null): void {
  if (key !== null && !isOrderKey(key)) {
    throw new Error(`invalid order key ${JSON.stringify(key)}`);
  }
}

/**
 * A new key that sorts after `a` and before `b`; `null` stands for "no
 * neighbour on that side". Throws when `a >= b` or a key is malformed.
 */
export function orderKeyBetween(a: string | null, b: string | null): string {
  check(a);
  check(b);
  if (a !== null && b !== null && a >= b) {
    throw new Error(`order keys out of order: ${a} >= ${b}`);
  }
  if (a === null) {
    if (b === null) return "a" + ZERO;
    const integer = integerPart(b);
    if (integer === SMALLEST_INTEGER) {
      return integer + midpoint("", b.slice(integer.length));
    }
    if (integer < b) return integer;
    const lower = step(integer, false);
    if (lower === null) throw new Error("order key space exhausted");
    return lower;
  }
  const integerA = integerPart(a);
  const fractionA = a.slice(integerA.length);
  if (b === null) {
    const higher = step(integerA, true);
    return higher ?? integerA + midpoint(fractionA, null);
  }
  const integerB = integerPart(b);
  if (integerA === integerB) {
    return integerA + midpoint(fractionA, b.slice(integerB.length));
  }
  const higher = step(integerA, true);
  if (higher === null) throw new Error("order key space exhausted");
  return higher < b ? higher : integerA + midpoint(fractionA, null);
}

/**
 * {@linkcode orderKeyBetween} for its usual case, in a few lines of code (on a
 * store's insert path this runs with cold caches, where every extra function
 * and string operation costs): `a` an integer part alone, as every key of a
 * list filled by appends or renumbered is, and its last digit not the
 * highest. `undefined` otherwise (then call `orderKeyBetween`). The key is the
 * one `orderKeyBetween` makes, except when `b` starts with `a` (then it may
 * be another key between the two); `b` is only compared, not checked.
 */
export function quickOrderKeyBetween(a: string, b: string | null): string | undefined {
  const head = a.charCodeAt(0);
  const length = head >= 97 && head <= 122 ? head - 95 : head >= 65 && head <= 90 ? 92 - head : 0;
  if (length !== a.length || a === SMALLEST_INTEGER) return undefined;
  let last = 0;
  for (let i = 1; i < length; i++) {
    const code = a.charCodeAt(i);
    last = code < 128 ? DIGIT_VALUES[code] : -1;
    if (last < 0) return undefined;
  }
  if (length < 2 || last === ORDER_KEY_DIGITS.length - 1) return undefined;
  // The next integer, else the midpoint of an empty fraction and the top.
  const higher = a.slice(0, -1) + ORDER_KEY_DIGITS[last + 1];
  if (b === null || higher < b) return higher;
  const key = a + ORDER_KEY_DIGITS[ORDER_KEY_DIGITS.length >> 1];
  return key < b ? key : undefined;
}

/**
 * `count` short keys in increasing order, for a fresh numbering of a whole
 * list (a rebalance) or a bulk load.
 */
export function sequentialOrderKeys(count: number): string[] {
  const keys: string[] = [];
  let key: string | null = null;
  for (let i = 0; i < count; i++) keys.push(key = orderKeyBetween(key, null));
  return keys;
}
