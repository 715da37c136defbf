/**
 * "Did you mean …": the known name closest to a misspelt one. Case, `_` and
 * `-` do not count (so `postMessage` finds `post_message`); beyond that, a
 * few edits per name's length.
 *
 * @module
 */

// Longer names are not compared: the cost stays bounded whatever the wire sends.
const MAX_LENGTH = 64;

/**
 * The candidate closest to `name` that `allowed` accepts, or `undefined` when
 * none is close. `allowed` is asked only about close candidates, closest first.
 */
export function closestName(
  name: string,
  candidates: Iterable<string>,
  allowed: (candidate: string) => boolean = () => true,
): string | undefined {
  if (name.length > MAX_LENGTH) return undefined;
  const wanted = normal(name);
  const close: { candidate: string; distance: number }[] = [];
  for (const candidate of candidates) {
    if (candidate === name || candidate.length > MAX_LENGTH) continue;
    const other = normal(candidate);
    const limit = Math.max(1, Math.floor(Math.max(wanted.length, other.length) / 3));
    const distance = editDistance(wanted, other, limit);
    if (distance <= limit) close.push({ candidate, distance });
  }
  close.sort((a, b) => a.distance - b.distance);
  return close.find(({ candidate }) => allowed(candidate))?.candidate;
}

/**
 * `; did you mean "x"?` for a close name, else `""`: appended to a message.
 */
export function didYouMean(
  name: string,
  candidates: Iterable<string>,
  allowed?: (candidate: string) => boolean,
): string {
  const found = closestName(name, candidates, allowed);
  return found === undefined ? "" : `; did you mean "${found}"?`;
}

function normal(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, "");
}

// Levenshtein with adjacent transpositions; stops early past `limit`.
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, before[j - 2] + 1);
      }
      row.push(value);
      best = Math.min(best, value);
    }
    if (best > limit) return limit + 1;
    before = previous;
    previous = row;
  }
  return previous[b.length];
}
